import Type, { type TSchema, type TString, type TStringOptions } from 'typebox';
import { Value } from 'typebox/value';
import { formatPath, type ValidationIssue } from '../util/index.ts';
import { resolveGlob, resolveName, type NameScope } from './ros-name.ts';

/**
 * Schema fields that hold ROS 2 names. A schema marks them (RosName, RosGlob, a record keyed by names), and
 * resolveNames puts each value it finds there in its canonical form, or says which rule it breaks: the one
 * place where a config, an intent's arguments or a tool call's input become names the checks can compare.
 */

/** The keyword a string schema carries when it holds a name (`name`) or a topic glob (`glob`). */
export const NAME_KEYWORD = 'x-ros-name';
/** The keyword of a record (an object of pattern properties) whose keys are names. */
export const NAME_KEYS_KEYWORD = 'x-ros-name-keys';

/** A topic, service or action name: absolute, relative or private, resolved against the daemon's node. */
export function RosName(options: TStringOptions = {}): TString {
  return Type.String({ minLength: 1, maxLength: 1024, ...options, [NAME_KEYWORD]: 'name' });
}

/** A topic glob (`/camera/**`, `/tf*`), resolved as a name is. */
export function RosGlob(options: TStringOptions = {}): TString {
  return Type.String({ minLength: 1, maxLength: 1024, ...options, [NAME_KEYWORD]: 'glob' });
}

export interface ResolvedNames<T> {
  /** The value with every name in canonical form (a copy where one changed; the value itself otherwise). */
  value: T;
  /** One per name that ROS 2 refuses, at its path: `relays.topics[1].topic: "//chatter" contains ...`. */
  issues: ValidationIssue[];
}

/**
 * Every name `schema` marks in `value`, resolved against `scope`. The value should already match the schema
 * (a union's branch is found by checking it); what does not match is left for the schema's own check.
 */
export function resolveNames<T>(schema: TSchema, value: T, scope: NameScope): ResolvedNames<T> {
  const issues: ValidationIssue[] = [];
  const out = walk(schema as SchemaNode, value, scope, [], issues) as T;
  return { value: out, issues };
}

type SchemaNode = Record<string, unknown>;

function walk(
  schema: SchemaNode,
  value: unknown,
  scope: NameScope,
  path: string[],
  issues: ValidationIssue[],
): unknown {
  const kind = schema[NAME_KEYWORD];
  if ((kind === 'name' || kind === 'glob') && typeof value === 'string') {
    const resolved = kind === 'name' ? resolveName(value, scope) : resolveGlob(value, scope);
    if (resolved.ok) return resolved.name;
    issues.push({ path: formatPath(path), message: `${JSON.stringify(value)} ${resolved.rule}` });
    return value;
  }
  const anyOf = schema.anyOf as SchemaNode[] | undefined;
  if (anyOf) {
    const branch = anyOf.find((b) => Value.Check(b as TSchema, value));
    return branch ? walk(branch, value, scope, path, issues) : value;
  }
  if (Array.isArray(value) && schema.items && typeof schema.items === 'object') {
    let copy: unknown[] | undefined;
    value.forEach((item, i) => {
      const next = walk(schema.items as SchemaNode, item, scope, [...path, String(i)], issues);
      if (next !== item) (copy ??= [...value])[i] = next;
    });
    return copy ?? value;
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value))
    return walkObject(schema, value, scope, path, issues);
  return value;
}

function walkObject(
  schema: SchemaNode,
  value: object,
  scope: NameScope,
  path: string[],
  issues: ValidationIssue[],
): unknown {
  const properties = (schema.properties ?? {}) as Record<string, SchemaNode>;
  const patterns = Object.entries((schema.patternProperties ?? {}) as Record<string, SchemaNode>).map(
    ([pattern, s]) => ({ re: new RegExp(pattern, 'u'), schema: s }),
  );
  const namedKeys = schema[NAME_KEYS_KEYWORD] === true;
  const entries = Object.entries(value);
  let changed = false;
  const out: [string, unknown][] = [];
  const seen = new Map<string, string>();
  for (const [key, item] of entries) {
    let outKey = key;
    if (namedKeys) {
      const resolved = resolveName(key, scope);
      if (!resolved.ok)
        issues.push({ path: formatPath([...path, key]), message: `${JSON.stringify(key)} ${resolved.rule}` });
      else {
        const earlier = seen.get(resolved.name);
        if (earlier !== undefined)
          issues.push({
            path: formatPath([...path, key]),
            message: `${JSON.stringify(key)} names ${resolved.name}, as ${JSON.stringify(earlier)} does: give each name once`,
          });
        seen.set(resolved.name, key);
        outKey = resolved.name;
      }
    }
    const itemSchema = properties[key] ?? patterns.find((p) => p.re.test(key))?.schema;
    const next = itemSchema ? walk(itemSchema, item, scope, [...path, key], issues) : item;
    if (next !== item || outKey !== key) changed = true;
    out.push([outKey, next]);
  }
  return changed ? Object.fromEntries(out) : value;
}
