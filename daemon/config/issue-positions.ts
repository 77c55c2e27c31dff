import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { ValidationIssue } from '../util/index.ts';

/** A config problem, with where it is in the file when the key path leads to a node there. */
export interface ConfigIssue extends ValidationIssue {
  line?: number;
  column?: number;
}

/**
 * Gives each issue the line and column of its key in the file and sorts the issues by that position, so
 * problems read top to bottom like the file. A key the file does not have (a missing required key, a
 * default that clashes) takes the position of its nearest ancestor that it has; one with none goes last.
 * The sort is stable: issues at one position keep the order they came in.
 */
export function placeIssues(issues: readonly ValidationIssue[], doc: Document, lines: LineCounter): ConfigIssue[] {
  const placed = issues.map((issue, index) => {
    const offset = offsetOf(doc, parsePath(issue.path));
    if (offset === undefined) return { issue: { ...issue } as ConfigIssue, offset: Infinity, index };
    const { line, col } = lines.linePos(offset);
    return { issue: { ...issue, line, column: col }, offset, index };
  });
  placed.sort((a, b) => a.offset - b.offset || a.index - b.index);
  return placed.map((p) => p.issue);
}

/** The segments of a path written by formatPath: `a.b[0]["my key"]` gives a, b, 0, my key. */
export function parsePath(path: string): string[] {
  const segments: string[] = [];
  const token = /(?:^|\.)([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;
  while (token.lastIndex < path.length) {
    const start = token.lastIndex;
    const m = token.exec(path);
    if (!m) {
      // Not a path formatPath wrote (a key with dots from a template string): keep what was understood.
      segments.push(path.slice(start));
      break;
    }
    segments.push(m[1] ?? m[2] ?? (JSON.parse(m[3]!) as string));
  }
  return segments;
}

/**
 * Where the deepest node of `segments` that the file has starts: the key of a mapping entry, the item of
 * a list. An alias is as far as it goes: the nodes behind it sit at the anchor, elsewhere in the file.
 */
function offsetOf(doc: Document, segments: readonly string[]): number | undefined {
  let node: unknown = doc.contents;
  let offset: number | undefined;
  for (const segment of segments) {
    if (isAlias(node)) break;
    if (isMap(node)) {
      const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === segment);
      if (!pair) break;
      offset = (pair.key as Node | null)?.range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && /^\d+$/.test(segment)) {
      const item = node.items[Number(segment)] as Node | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else break;
  }
  return offset;
}
