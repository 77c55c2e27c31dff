import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseMetadata } from '../bags/index.ts';
import { RECORDING_MARKER } from '../recorder/index.ts';
import type { RecorderActivity } from './retention.ts';

/**
 * The finished splits of recorded bags under `<data_dir>/bags` that are not in `indexed`, oldest bag first:
 * what the lakehouse must index at start (a daemon killed before a split's indexing ran, an indexing that
 * failed before a restart). A split is finished once its bag's metadata.yaml lists it: the recorder lists
 * a split only after closing it, and the open one never. Bags still marked `.recording` are left to the
 * recorder, which repairs them at its start and hands over each split then; the one exception is the bag
 * being recorded now (holding one of `active.files`), whose listed splits are finished, but for those the
 * recorder has not handed over yet (`active.files` too). Splits the metadata says hold no message are skipped.
 */
export function unindexedSplits(
  bagsDir: string,
  indexed: ReadonlySet<string>,
  active: RecorderActivity,
): { file: string; bagDir: string; messages: number }[] {
  if (!existsSync(bagsDir)) return [];
  const out: { file: string; bagDir: string; messages: number }[] = [];
  for (const e of readdirSync(bagsDir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!e.isDirectory()) continue;
    const bagDir = join(bagsDir, e.name);
    const live = active.files.some((f) => f.startsWith(bagDir + '/')) && !active.closing.includes(bagDir);
    if (existsSync(join(bagDir, RECORDING_MARKER)) && !live) continue;
    const metaPath = join(bagDir, 'metadata.yaml');
    if (!existsSync(metaPath)) continue;
    let files;
    try {
      files = parseMetadata(readFileSync(metaPath, 'utf8'), metaPath).files;
    } catch {
      continue; // not a bag of ours to index unasked: `bag info` / `bag repair` say what is wrong with it
    }
    for (const f of files) {
      const file = join(bagDir, f.path);
      if (f.messageCount > 0 && !indexed.has(file) && !active.files.includes(file) && existsSync(file))
        out.push({ file, bagDir, messages: f.messageCount });
    }
  }
  return out;
}

/**
 * What a query says when recorded splits are not in the catalog yet (queued, or interrupted by a stop and
 * left to the next start): its answer leaves their messages out. undefined when every finished split is in.
 */
export function unindexedNote(bagsDir: string, indexed: ReadonlySet<string>): string | undefined {
  const waiting = unindexedSplits(bagsDir, indexed, { files: [], bags: [], closing: [] });
  if (waiting.length === 0) return undefined;
  const messages = waiting.reduce((n, s) => n + s.messages, 0);
  return `${waiting.length} recorded split(s) with ${messages} message(s) are waiting to be indexed (first: ${waiting[0]!.file}): this answer leaves them out; the running daemon indexes them, or its next start does`;
}
