import type { TSchema, Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { Settings } from 'typebox/system';
import { Value } from 'typebox/value';
import { didYouMean } from './did-you-mean.ts';

/** One thing wrong with a value, at a path like `targets[0].frame` (empty for the value itself). */
export interface ValidationIssue {
  path: string;
  message: string;
}

/** Data from outside (HTTP, MQTT, Zenoh, ROS, files) that does not match the contract. */
export class ValidationError extends Error {
  override name = 'ValidationError';
  readonly issues: ValidationIssue[];
  constructor(what: string, issues: ValidationIssue[]) {
    super(`${what}: ${issues.map(formatIssue).join('; ')}`);
    this.issues = issues;
  }
}

export function formatIssue(issue: ValidationIssue): string {
  return issue.path ? `${issue.path}: ${issue.message}` : issue.message;
}

interface SchemaError {
  keyword: string;
  schemaPath: string;
  instancePath: string;
  params: Record<string, unknown>;
  message: string;
}

type SchemaNode = Record<string, unknown>;

// TypeBox stops collecting errors at 8 by default (a guard against hostile input). A union of literals
// alone reports two errors per branch, so allow more; the count stays bounded.
Settings.Set({ maxErrors: 64 });

/** Uses of a Validator that interpret its schema before it compiles it. */
const INTERPRETED_USES = 2;

interface Checker {
  Check(value: unknown): boolean;
  Errors(value: unknown): unknown[];
}

/**
 * A validator for one schema. Its issues name the path, what was expected and what was found:
 * `recorder.split.max_bytes: expected integer >= 1048576, got "1GB"`; an unknown key gets a did-you-mean.
 * It interprets the schema for its first uses and compiles it at the next: compiling the config's schema took 60 ms
 * of a client command's start (`status`, which checks one config once), a check by interpreting it 8 ms, and a
 * validator on a hot path pays the compile once.
 */
export class Validator<T extends TSchema> {
  readonly schema: T;
  #compiled: Checker | undefined;
  #interpreted: Checker;
  #uses = 0;

  constructor(schema: T) {
    this.schema = schema;
    this.#interpreted = { Check: (v) => Value.Check(schema, v), Errors: (v) => Value.Errors(schema, v) };
  }

  /**
   * Compiles the schema now, throwing what the compiler throws (an invalid `pattern`, say): for a schema a peer
   * sent, which must be refused before it is used, where the interpreter would only fail at a later check.
   */
  compile(): this {
    this.#compiled ??= Compile(this.schema);
    return this;
  }

  /** What checks a value at this use: the interpreter, or once it has been used enough, the compiled code. */
  #checker(): Checker {
    if (this.#compiled) return this.#compiled;
    if (++this.#uses <= INTERPRETED_USES) return this.#interpreted;
    return (this.#compiled = Compile(this.schema));
  }

  check(value: unknown): value is Static<T> {
    return this.#checker().Check(value);
  }

  /**
   * Every way `value` breaks the schema. Messages quote values from `quoted`, a tree of the same shape:
   * a config passes itself with each `${ENV}` value as written, so no message carries a secret.
   */
  issues(value: unknown, quoted: unknown = value): ValidationIssue[] {
    const checker = this.#checker();
    if (checker.Check(value)) return [];
    // An array over its maxItems is reported without the full error walk, which visits every item (a
    // 100k-item body would block the event loop for a quarter of a second to say "at most 64 items").
    const oversized = oversizedArrays(this.schema as unknown as SchemaNode, value, quoted, []);
    if (oversized.length > 0) return oversized;
    const errors = pruneUnionNoise([...checker.Errors(value)] as SchemaError[]);
    const seen = new Set<string>();
    const issues: ValidationIssue[] = [];
    for (const error of errors) {
      for (const issue of this.#describe(error, quoted)) {
        const key = `${issue.path}\u0000${issue.message}`;
        if (!seen.has(key)) {
          seen.add(key);
          issues.push(issue);
        }
      }
    }
    // Only the first problem per path: the rest are usually consequences of it.
    const byPath = new Map<string, ValidationIssue>();
    for (const issue of issues) if (!byPath.has(issue.path)) byPath.set(issue.path, issue);
    // Never "invalid" with nothing to say: an error this file does not describe still names the value.
    if (byPath.size === 0)
      return [{ path: '', message: `does not match the expected shape (${errors[0]?.message ?? 'no detail'})` }];
    return [...byPath.values()];
  }

  /** Returns the value typed, or throws a ValidationError naming `what` (e.g. `intent`, `POST /intents body`). */
  parse(value: unknown, what: string): Static<T> {
    if (this.check(value)) return value;
    throw new ValidationError(what, this.issues(value));
  }

  #describe(error: SchemaError, root: unknown): ValidationIssue[] {
    const segments = pointerSegments(error.instancePath);
    const path = formatPath(segments);
    const node = schemaAt(this.schema as unknown as SchemaNode, error.schemaPath);
    switch (error.keyword) {
      case 'boolean': {
        // `schema is false` under additionalProperties: one error per unknown key, reported before the
        // parent's additionalProperties error, which the error cap (64) cuts off when there are many.
        if (!error.schemaPath.endsWith('/additionalProperties')) return [];
        const parent = schemaAt(
          this.schema as unknown as SchemaNode,
          error.schemaPath.slice(0, -'/additionalProperties'.length),
        );
        return [unknownKey(segments.slice(0, -1), segments.at(-1)!, parent)];
      }
      case 'additionalProperties': {
        const extra = (error.params.additionalProperties as string[] | undefined) ?? [];
        return extra.map((key) => unknownKey(segments, key, node));
      }
      case 'required': {
        const missing = (error.params.requiredProperties as string[] | undefined) ?? [];
        return missing.map((key) => ({ path: formatPath([...segments, key]), message: 'required' }));
      }
      default: {
        const value = valueAt(root, segments);
        return [{ path, message: `expected ${node ? describeSchema(node) : 'a valid value'}, got ${show(value)}` }];
      }
    }
  }
}

/**
 * Arrays longer than their schema's maxItems, found by following the schema's object properties only (never
 * into items): its cost is the schema's size, whatever the value's.
 */
function oversizedArrays(node: SchemaNode, value: unknown, quoted: unknown, segments: string[]): ValidationIssue[] {
  if (Array.isArray(value)) {
    const max = node.maxItems;
    if (typeof max !== 'number' || value.length <= max) return [];
    return [
      {
        path: formatPath(segments),
        message: `expected ${describeSchema(node)}, got ${value.length > 64 ? `an array of ${value.length} items` : show(quoted)}`,
      },
    ];
  }
  const properties = node.properties as Record<string, SchemaNode> | undefined;
  if (value === null || typeof value !== 'object' || properties === undefined) return [];
  const found: ValidationIssue[] = [];
  for (const key of Object.keys(properties)) {
    if (!Object.hasOwn(value, key)) continue;
    const quotedChild =
      quoted !== null && typeof quoted === 'object' ? (quoted as Record<string, unknown>)[key] : undefined;
    found.push(
      ...oversizedArrays(properties[key]!, (value as Record<string, unknown>)[key], quotedChild, [...segments, key]),
    );
  }
  return found;
}

function unknownKey(parentSegments: string[], key: string, parent: SchemaNode | undefined): ValidationIssue {
  const known = Object.keys((parent?.properties as SchemaNode | undefined) ?? {});
  const guess = didYouMean(key, known);
  return {
    path: formatPath([...parentSegments, key]),
    message: `unknown key${guess ? ` (did you mean "${guess}"?)` : known.length ? ` (known keys: ${known.join(', ')})` : ''}`,
  };
}

/**
 * A union reports the errors of every branch. Keep those of the branches whose discriminating literals
 * matched (the branch the sender meant); when none matched, keep only the union's own error.
 */
function pruneUnionNoise(errors: SchemaError[]): SchemaError[] {
  const unions = errors.filter((e) => e.keyword === 'anyOf');
  let kept = errors;
  for (const union of unions) {
    const prefix = `${union.schemaPath}/anyOf/`;
    const branchOf = (e: SchemaError): string | undefined =>
      e.schemaPath.startsWith(prefix) ? e.schemaPath.slice(prefix.length).split('/')[0] : undefined;
    const branches = new Map<string, SchemaError[]>();
    for (const e of kept) {
      const b = branchOf(e);
      if (b !== undefined) branches.set(b, [...(branches.get(b) ?? []), e]);
    }
    const meant = [...branches.values()].filter(
      (errs) => !errs.some((e) => e.keyword === 'const' && e.instancePath !== union.instancePath),
    );
    const literalUnion = [...branches.values()].every((errs) =>
      errs.every((e) => e.instancePath === union.instancePath),
    );
    if (meant.length > 0 && !literalUnion) {
      const keep = new Set(meant.flat());
      kept = kept.filter((e) => (e === union ? false : branchOf(e) === undefined || keep.has(e)));
    } else {
      kept = kept.filter((e) => branchOf(e) === undefined);
    }
  }
  return kept;
}

function describeSchema(node: SchemaNode): string {
  if (Array.isArray(node.anyOf)) {
    const branches = node.anyOf as SchemaNode[];
    if (branches.every((b) => 'const' in b)) return `one of ${branches.map((b) => JSON.stringify(b.const)).join(', ')}`;
    return `one of: ${branches.map(describeSchema).join(' | ')}`;
  }
  if ('const' in node) return JSON.stringify(node.const);
  let type = (node.type as string | undefined) ?? 'value';
  const bounds: string[] = [];
  // A length reads as one range: "string of 1 to 256 characters", not "of at least 1 ... of at most 256 ...".
  const range =
    lengthRange(node.minLength, node.maxLength, 'character') ?? lengthRange(node.minItems, node.maxItems, 'item');
  if (range) type = `${type} of ${range}`;
  if (typeof node.minimum === 'number') bounds.push(`>= ${node.minimum}`);
  if (typeof node.exclusiveMinimum === 'number') bounds.push(`> ${node.exclusiveMinimum}`);
  if (typeof node.maximum === 'number') bounds.push(`<= ${node.maximum}`);
  if (typeof node.exclusiveMaximum === 'number') bounds.push(`< ${node.exclusiveMaximum}`);
  if (typeof node.format === 'string') bounds.push(`in ${node.format} format`);
  if (typeof node.pattern === 'string') bounds.push(`matching /${node.pattern}/`);
  return [type, ...bounds].join(' ');
}

/** "1 to 256 characters", "at least 1 item", "at most 8 items", "3 items"; undefined with no bound. */
function lengthRange(min: unknown, max: unknown, unit: string): string | undefined {
  const lo = typeof min === 'number' && min > 0 ? min : undefined;
  const hi = typeof max === 'number' ? max : undefined;
  const units = (n: number) => `${n} ${unit}${n === 1 ? '' : 's'}`;
  if (lo !== undefined && hi !== undefined) return lo === hi ? units(hi) : `${lo} to ${units(hi)}`;
  if (lo !== undefined) return `at least ${units(lo)}`;
  if (hi !== undefined) return `at most ${units(hi)}`;
  return undefined;
}

function schemaAt(schema: SchemaNode, schemaPath: string): SchemaNode | undefined {
  let node: unknown = schema;
  for (const segment of pointerSegments(schemaPath.replace(/^#/, ''))) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return node !== null && typeof node === 'object' ? (node as SchemaNode) : undefined;
}

function pointerSegments(pointer: string): string[] {
  // `/` is the key "" (RFC 6901), not the root: `{"": 1}` must not lose its path.
  if (pointer === '') return [];
  return pointer
    .replace(/^\//, '')
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** `a.b[0].c`; keys that are not identifiers are quoted: `named_poses["my dock"]`. */
export function formatPath(segments: readonly string[]): string {
  let out = '';
  for (const s of segments) {
    if (/^\d+$/.test(s)) out += `[${s}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(s)) out += out ? `.${s}` : s;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

function valueAt(root: unknown, segments: readonly string[]): unknown {
  let v = root;
  for (const s of segments) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[s];
  }
  return v;
}

/** Prefixes issue paths with where the value sits: `body` and `params.x` give `body.params.x`. */
export function issuesIn(part: string, issues: readonly ValidationIssue[]): ValidationIssue[] {
  return issues.map((issue) => ({
    path: issue.path ? `${part}${issue.path.startsWith('[') ? '' : '.'}${issue.path}` : part,
    message: issue.message,
  }));
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'bigint') return `${value}n`;
  // JSON.stringify would show it as null.
  if (typeof value === 'number' && !Number.isFinite(value)) return `a non-finite number (${value})`;
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch {
    return 'a value that cannot be shown as JSON'; // nested too deep for JSON.stringify's recursion
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
