import type { MessageDefinition, MessageDefinitionField } from '@foxglove/message-definition';

/**
 * How `auraison-edge topic echo` prints a decoded message: YAML as `ros2 topic echo` prints it (PyYAML's
 * block style, floats as Python writes them, long arrays and strings cut) or one JSON line. The message
 * definition drives it: it says which numbers are floats (`1.0`, not `1`) and what an array holds.
 */

/** What a value is, as its definition says: a message, a primitive, or an array of either. */
export interface Shape {
  type: string;
  isComplex: boolean;
  isArray: boolean;
  /** A fixed-size array's length (`float64[36]`); undefined for a sequence. */
  arrayLength?: number;
}

type Field = Pick<MessageDefinitionField, 'name' | 'type' | 'isComplex' | 'isArray' | 'arrayLength'>;

/** `time` and `duration`, as a ros2msg schema's parse gives `builtin_interfaces/Time` fields. */
const TIME_FIELDS: Field[] = [
  { name: 'sec', type: 'int32' },
  { name: 'nanosec', type: 'uint32' },
];

/** A message type's definitions (the root first, then its dependencies), for walking a decoded message. */
export class MessageLayout {
  readonly root: Shape;
  #fields: Map<string, Field[]>;

  constructor(definitions: readonly MessageDefinition[]) {
    this.#fields = new Map(definitions.map((d) => [d.name!, d.definitions.filter((f) => !f.isConstant)]));
    this.root = { type: definitions[0]!.name!, isComplex: true, isArray: false };
  }

  /** The fields of a (non-array) message shape; undefined for a primitive. */
  fields(shape: Shape): readonly Field[] | undefined {
    if (shape.type === 'time' || shape.type === 'duration') return TIME_FIELDS;
    return shape.isComplex ? this.#fields.get(shape.type) : undefined;
  }
}

export function fieldShape(field: Field): Shape {
  return {
    type: field.type,
    isComplex: field.isComplex === true,
    isArray: field.isArray === true,
    arrayLength: field.arrayLength,
  };
}

const elementOf = (shape: Shape): Shape => ({ type: shape.type, isComplex: shape.isComplex, isArray: false });

export interface FormatOptions {
  /** Arrays and strings longer than this are cut (`--truncate-length`); undefined prints them whole. */
  truncate: number | undefined;
  /** Arrays as `'<sequence type: float, length: 360>'` (`--no-arr`). */
  noArr: boolean;
  /** Strings as `'<string length: <12>>'` (`--no-str`). */
  noStr: boolean;
}

/** A YAML value: a scalar that goes on its key's line, or a block of lines (a mapping or a sequence). */
type Node = { scalar: string } | { lines: string[]; seq: boolean };

/** The message (or the part of it `shape` describes) as a YAML document, without the `---` after it. */
export function toYaml(
  value: unknown,
  shape: Shape | undefined,
  layout: MessageLayout | undefined,
  options: FormatOptions,
): string {
  const node = yamlNode(value, shape, layout, options);
  return `${'scalar' in node ? node.scalar : node.lines.join('\n')}\n`;
}

function yamlNode(
  value: unknown,
  shape: Shape | undefined,
  layout: MessageLayout | undefined,
  options: FormatOptions,
): Node {
  if (isArrayValue(value)) {
    if (options.noArr) return { scalar: singleQuoted(arraySummary(value.length, shape)) };
    const element = shape ? elementOf(shape) : undefined;
    const shown = options.truncate === undefined ? value.length : Math.min(value.length, options.truncate);
    if (value.length === 0) return { scalar: '[]' };
    const lines: string[] = [];
    for (let i = 0; i < shown; i++) {
      const item = yamlNode(value[i], element, layout, options);
      if ('scalar' in item) lines.push(`- ${item.scalar}`);
      else lines.push(`- ${item.lines[0]}`, ...item.lines.slice(1).map((l) => `  ${l}`));
    }
    if (shown < value.length) lines.push(`- '...'  # ${value.length} items, ${shown} shown: --full-length prints all`);
    return { lines, seq: true };
  }
  const fields = shape ? layout?.fields(shape) : undefined;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const entries: [string, unknown, Shape | undefined][] = fields
      ? fields.map((f) => [f.name, record[f.name], fieldShape(f)])
      : Object.entries(record).map(([k, v]) => [k, v, undefined]);
    if (entries.length === 0) return { scalar: '{}' };
    const lines: string[] = [];
    for (const [key, v, s] of entries) {
      const child = yamlNode(v, s, layout, options);
      const k = yamlString(key);
      if ('scalar' in child) lines.push(`${k}: ${child.scalar}`);
      // PyYAML's block style: a sequence under a key is not indented, a mapping is.
      else lines.push(`${k}:`, ...(child.seq ? child.lines : child.lines.map((l) => `  ${l}`)));
    }
    return { lines, seq: false };
  }
  return { scalar: yamlScalar(value, shape, options) };
}

function yamlScalar(value: unknown, shape: Shape | undefined, options: FormatOptions): string {
  if (typeof value === 'string') {
    if (options.noStr) return singleQuoted(`<string length: <${value.length}>>`);
    if (options.truncate !== undefined && value.length > options.truncate) {
      return `${yamlString(`${value.slice(0, options.truncate)}...`)}  # ${value.length} characters: --full-length prints all`;
    }
    return yamlString(value);
  }
  if (typeof value === 'number') {
    const float = shape ? shape.type === 'float32' || shape.type === 'float64' : !Number.isInteger(value);
    return float ? pythonFloat(value) : String(value);
  }
  if (typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  return 'null';
}

/** The message as one JSON line: int64 as decimal strings, NaN and infinities as strings, arrays whole. */
export function toJsonLine(
  value: unknown,
  shape: Shape | undefined,
  layout: MessageLayout | undefined,
  options: Pick<FormatOptions, 'noArr' | 'noStr'>,
): string {
  return JSON.stringify(jsonValue(value, shape, layout, options));
}

function jsonValue(
  value: unknown,
  shape: Shape | undefined,
  layout: MessageLayout | undefined,
  options: Pick<FormatOptions, 'noArr' | 'noStr'>,
): unknown {
  if (isArrayValue(value)) {
    if (options.noArr) return arraySummary(value.length, shape);
    const element = shape ? elementOf(shape) : undefined;
    return Array.from({ length: value.length }, (_, i) => jsonValue(value[i], element, layout, options));
  }
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'string') return options.noStr ? `<string length: <${value.length}>>` : value;
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  const fields = shape ? layout?.fields(shape) : undefined;
  if (fields)
    return Object.fromEntries(fields.map((f) => [f.name, jsonValue(record[f.name], fieldShape(f), layout, options)]));
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, jsonValue(v, undefined, layout, options)]));
}

function isArrayValue(value: unknown): value is ArrayLike<unknown> {
  return Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView));
}

/** The IDL names `ros2 topic echo --no-arr` gives element types. */
const IDL_NAMES: Record<string, string> = { float32: 'float', float64: 'double', bool: 'boolean', byte: 'octet' };

/** What `ros2 topic echo --no-arr` prints for an array: its element type and length. */
function arraySummary(length: number, shape: Shape | undefined): string {
  const type = shape ? (IDL_NAMES[shape.type] ?? shape.type) : 'unknown';
  if (shape?.arrayLength !== undefined) return `<array type: ${type}[${shape.arrayLength}]>`;
  return `<sequence type: ${type}, length: ${length}>`;
}

/** A float as PyYAML writes Python's repr of it: `1.0`, `0.1`, `1.0e-05`, `.nan`, `-.inf`. */
export function pythonFloat(v: number): string {
  if (Number.isNaN(v)) return '.nan';
  if (v === Infinity) return '.inf';
  if (v === -Infinity) return '-.inf';
  if (v === 0) return Object.is(v, -0) ? '-0.0' : '0.0';
  // Both languages write the shortest digits that read back the same; Python uses an exponent outside [1e-4, 1e16).
  const [mantissa, exponent] = v.toExponential().split('e') as [string, string];
  const e = Number(exponent);
  if (e >= -4 && e < 16) {
    const fixed = String(v);
    return fixed.includes('.') ? fixed : `${fixed}.0`;
  }
  return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}

/** Strings YAML reads back as themselves without quotes (and not as a number, bool or null). */
const PLAIN = /^[A-Za-z_/][\w/.-]*( [\w/.-]+)*$/;
// What PyYAML (YAML 1.1, as ros2 writes) and YAML 1.2 read as a bool or null; `y` and `n` stay plain, as ros2 prints
// them.
const RESERVED = /^(true|false|yes|no|on|off|null)$/i;

/** A string as a YAML scalar: plain when it reads back the same, else single-quoted, else double-quoted (escapes). */
export function yamlString(s: string): string {
  if (PLAIN.test(s) && !RESERVED.test(s)) return s;
  return /^[\x20-\x7e]*$/.test(s) ? singleQuoted(s) : JSON.stringify(s);
}

function singleQuoted(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}
