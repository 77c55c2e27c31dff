import type { MessageDefinition, MessageDefinitionField } from '@foxglove/message-definition';
import { parse as parseYaml } from 'yaml';
import { canonicalType } from '../bus/index.ts';
import { FieldValidator } from '../bus/index.ts';
import { didYouMean, errorText } from '../util/index.ts';
import { pythonFloat } from './topic-format.ts';

/**
 * The message `auraison-edge topic pub` sends, from VALUES as `ros2 topic pub` takes them: YAML (or JSON)
 * of the fields to set (`{linear: {x: 0.1}, angular: {z: 0.5}}`); every field left out takes its default
 * (0, false, '', an empty sequence, a fixed array of defaults), a builtin_interfaces/Time given as `now`
 * is the time now, and a std_msgs/Header given as `auto` is stamped now with an empty frame_id.
 */

type Field = Pick<MessageDefinitionField, 'name' | 'type' | 'isComplex' | 'isArray' | 'arrayLength'>;

const WIDE = new Set(['int64', 'uint64']);
const FLOATS = new Set(['float32', 'float64']);
const INTEGERS = new Set(['int8', 'uint8', 'byte', 'char', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64']);
const TIME = 'builtin_interfaces/msg/Time';
const DURATION = 'builtin_interfaces/msg/Duration';
const TIME_DEFINITION = (name: string): MessageDefinition => ({
  name,
  definitions: [
    { name: 'sec', type: 'int32', isComplex: false, isArray: false },
    { name: 'nanosec', type: 'uint32', isComplex: false, isArray: false },
  ],
});

/** VALUES as text: YAML, or strict JSON (`--json-values`); an error says what is wrong and where. */
export function parseValues(text: string, json: boolean): { value: Record<string, unknown> } | { error: string } {
  let value: unknown;
  try {
    // Integers as bigints, so an int64 past 2^53 keeps its digits; each becomes a number where its field wants one.
    value = json ? JSON.parse(text) : parseYaml(text, { intAsBigInt: true });
  } catch (error) {
    return { error: `VALUES is not ${json ? 'JSON' : 'YAML'}: ${errorText(error).trim()}` };
  }
  if (value === null || value === undefined) return { value: {} }; // '' sends the defaults, as ros2's '{}'
  if (typeof value !== 'object' || Array.isArray(value)) {
    return {
      error: `VALUES must be a mapping of field names to values, such as '{linear: {x: 0.1}, angular: {z: 0.5}}'; got ${Array.isArray(value) ? 'a list' : JSON.stringify(value)}`,
    };
  }
  return { value: value as Record<string, unknown> };
}

/**
 * A message type's definitions as the CLI builds, checks, encodes and decodes messages with: `time` and
 * `duration` (as a ros2msg schema's parse gives builtin_interfaces/Time fields) become messages of their
 * own, as the daemon's registry has them, so every part sees the same shape ({sec, nanosec}).
 */
export class MessageTemplate {
  readonly type: string;
  readonly definitions: MessageDefinition[];
  #fields: Map<string, Field[]>;
  #validator: FieldValidator;

  constructor(type: string, definitions: readonly MessageDefinition[]) {
    const timeTypes = { time: TIME, duration: DURATION } as Record<string, string>;
    const normalized = definitions.map((d) => ({
      ...d,
      definitions: d.definitions.map((f) =>
        timeTypes[f.type] ? { ...f, type: timeTypes[f.type]!, isComplex: true } : f,
      ),
    }));
    for (const name of [TIME, DURATION])
      if (!normalized.some((d) => d.name === name)) normalized.push(TIME_DEFINITION(name));
    normalized[0] = { ...normalized[0]!, name: type };
    this.type = type;
    this.definitions = normalized;
    this.#fields = new Map(normalized.map((d) => [d.name!, d.definitions.filter((f) => !f.isConstant)]));
    this.#validator = new FieldValidator(type, normalized);
  }

  /** The fields of a message type (undefined for a primitive). */
  fields(type: string): readonly Field[] | undefined {
    return this.#fields.get(type);
  }

  /**
   * The whole message from VALUES: every field there, each one left out at its default. An error names
   * the field that is wrong: one the type does not have (with the fields it has), a value of the wrong kind.
   */
  build(values: Record<string, unknown>, nowNs: bigint): { message: Record<string, unknown> } | { error: string } {
    const built = this.#message(values, this.type, [], nowNs);
    if (typeof built === 'string') return { error: built };
    // Kinds and ranges (an int8 of 300, a string where a number belongs), as the daemon's agent checks a publish.
    const checked = this.#validator.check(built, { anyFloat: true });
    if (!checked.ok) return { error: checked.problem };
    return { message: checked.value as Record<string, unknown> };
  }

  #message(value: unknown, type: string, path: string[], nowNs: bigint): Record<string, unknown> | string {
    const fields = this.#fields.get(type) ?? [];
    const at = path.length === 0 ? type : `${path.join('.')} (${type})`;
    if (value === 'now' && type === TIME)
      return { sec: Number(nowNs / 1_000_000_000n), nanosec: Number(nowNs % 1_000_000_000n) };
    if (value === 'auto' && /^std_msgs\/(msg\/)?Header$/.test(type))
      return { stamp: this.#message('now', TIME, [...path, 'stamp'], nowNs), frame_id: '' };
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      const hint = type === TIME ? " (or 'now')" : /Header$/.test(type) ? " (or 'auto')" : '';
      return `${at}: expected a mapping of its fields (${fields.map((f) => f.name).join(', ')})${hint}, got ${Array.isArray(value) ? 'a list' : JSON.stringify(toJsonSafe(value))}`;
    }
    const given = value as Record<string, unknown>;
    const names = fields.map((f) => f.name);
    for (const key of Object.keys(given)) {
      if (names.includes(key)) continue;
      const guess = didYouMean(key, names);
      return `${at} has no field "${key}"${guess ? ` (did you mean "${guess}"?)` : ''}; its fields: ${names.join(', ')}`;
    }
    const out: Record<string, unknown> = {};
    for (const f of fields) {
      const v = given[f.name];
      const fieldPath = [...path, f.name];
      let built: unknown;
      if (v === undefined) built = this.#default(f);
      else if (f.isArray && Array.isArray(v)) {
        const items: unknown[] = [];
        for (let i = 0; i < v.length; i++) {
          const item = this.#item(v[i], f, [...path, `${f.name}[${i}]`], nowNs);
          if (typeof item === 'string' && f.isComplex) return item;
          items.push(item);
        }
        built = items;
      } else if (f.isArray)
        built = v; // a base64 string for bytes, or an error the validator names
      else built = this.#item(v, f, fieldPath, nowNs);
      if (typeof built === 'string' && f.isComplex) return built;
      out[f.name] = built;
    }
    return out;
  }

  /** One value of a field (an array's item): a message built, a number made the field's kind. */
  #item(value: unknown, f: Field, path: string[], nowNs: bigint): unknown {
    if (f.isComplex) return this.#message(value, f.type, path, nowNs);
    if (typeof value === 'bigint' && !WIDE.has(f.type) && (INTEGERS.has(f.type) || FLOATS.has(f.type)))
      return Number(value);
    if (typeof value === 'number' && WIDE.has(f.type) && Number.isSafeInteger(value)) return BigInt(value);
    return value;
  }

  #default(f: Field): unknown {
    const one = () => (f.isComplex ? this.#defaults(f.type) : primitiveDefault(f.type));
    if (!f.isArray) return one();
    return f.arrayLength === undefined ? [] : Array.from({ length: f.arrayLength }, one);
  }

  #defaults(type: string): Record<string, unknown> {
    return Object.fromEntries((this.#fields.get(type) ?? []).map((f) => [f.name, this.#default(f)]));
  }
}

function primitiveDefault(type: string): unknown {
  if (type === 'bool') return false;
  if (type === 'string' || type === 'wstring') return '';
  return WIDE.has(type) ? 0n : 0;
}

function toJsonSafe(value: unknown): unknown {
  return typeof value === 'bigint' ? Number(value) : value;
}

/** `geometry_msgs/msg/Twist` (or `geometry_msgs/Twist`) as Python names the class: `geometry_msgs.msg.Twist`. */
function pythonClass(type: string): string {
  return canonicalType(type).replaceAll('/', '.');
}

/** Items of an array shown in a message's repr before `...`. */
const REPR_ITEMS = 16;

/**
 * A message as `ros2 topic pub` prints what it publishes (Python's repr of it):
 * `geometry_msgs.msg.Twist(linear=geometry_msgs.msg.Vector3(x=0.1, y=0.0, z=0.0), ...)`.
 */
export function pythonRepr(value: unknown, type: string, template: MessageTemplate): string {
  const fields = template.fields(type);
  if (!fields) return scalarRepr(value, type);
  const record = value as Record<string, unknown>;
  const parts = fields.map((f) => {
    const v = record[f.name];
    if (!f.isArray) return `${f.name}=${pythonRepr(v, f.type, template)}`;
    const items = Array.from(v as ArrayLike<unknown>);
    const shown = items.slice(0, REPR_ITEMS).map((item) => pythonRepr(item, f.type, template));
    if (items.length > REPR_ITEMS) shown.push(`... ${items.length} items`);
    return `${f.name}=[${shown.join(', ')}]`;
  });
  return `${pythonClass(type)}(${parts.join(', ')})`;
}

function scalarRepr(value: unknown, type: string): string {
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'string') return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
  if (typeof value === 'number') {
    if (!FLOATS.has(type)) return String(value);
    if (Number.isNaN(value)) return 'nan';
    if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
    return pythonFloat(value);
  }
  return String(value);
}

/**
 * The leaves where `arrived` differs from `sent` (messages of `type`), as `path: sent -> arrived`: what the
 * daemon's policy did to a message on its way to the bus (a velocity clamp).
 */
export function changedFields(
  sent: unknown,
  arrived: unknown,
  type: string,
  template: MessageTemplate,
  path = '',
): string[] {
  const fields = template.fields(type);
  if (!fields) {
    const same =
      Object.is(sent, arrived) ||
      (typeof sent === 'bigint' && typeof arrived === 'bigint' && sent === arrived) ||
      (type === 'float32' && typeof sent === 'number' && Math.fround(sent) === arrived);
    return same ? [] : [`${path}: ${scalarRepr(sent, type)} -> ${scalarRepr(arrived, type)}`];
  }
  const a = sent as Record<string, unknown>;
  const b = arrived as Record<string, unknown>;
  const out: string[] = [];
  for (const f of fields) {
    const at = path ? `${path}.${f.name}` : f.name;
    if (!f.isArray) {
      out.push(...changedFields(a[f.name], b[f.name], f.type, template, at));
      continue;
    }
    const x = Array.from((a[f.name] ?? []) as ArrayLike<unknown>);
    const y = Array.from((b[f.name] ?? []) as ArrayLike<unknown>);
    if (x.length !== y.length) out.push(`${at}: ${x.length} items -> ${y.length}`);
    else for (let i = 0; i < x.length; i++) out.push(...changedFields(x[i], y[i], f.type, template, `${at}[${i}]`));
  }
  return out;
}
