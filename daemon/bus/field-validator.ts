import type { MessageDefinition, MessageDefinitionField } from '@foxglove/message-definition';
import { didYouMean } from '../util/index.ts';
import { formatPath } from '../util/index.ts';

export type FieldCheck = { ok: true; value: unknown } | { ok: false; problem: string };

export interface FieldCheckOptions {
  /**
   * Take floats that are not finite or past float32's range (1e999 in JSON is Infinity). The Foxglove
   * client path takes them, as it takes them in CDR, and leaves them to the policy hooks; a model's
   * `publish` does not.
   */
  anyFloat?: boolean;
}

const INTEGER_RANGES: Record<string, readonly [bigint, bigint]> = {
  int8: [-(2n ** 7n), 2n ** 7n - 1n],
  uint8: [0n, 2n ** 8n - 1n],
  byte: [0n, 2n ** 8n - 1n],
  char: [0n, 2n ** 8n - 1n],
  int16: [-(2n ** 15n), 2n ** 15n - 1n],
  uint16: [0n, 2n ** 16n - 1n],
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
};
const WIDE = new Set(['int64', 'uint64']);
const FLOAT32_MAX = 3.4028234663852886e38;

/** The typed array the CDR writer takes as is for a primitive sequence; any other it would write as zeros. */
const TYPED_ARRAYS: Record<string, readonly (abstract new (...args: never[]) => unknown)[]> = {
  int8: [Int8Array],
  uint8: [Uint8Array, Uint8ClampedArray],
  byte: [Uint8Array, Uint8ClampedArray],
  char: [Uint8Array, Uint8ClampedArray],
  int16: [Int16Array],
  uint16: [Uint16Array],
  int32: [Int32Array],
  uint32: [Uint32Array],
  int64: [BigInt64Array],
  uint64: [BigUint64Array],
  float32: [Float32Array],
  float64: [Float64Array],
};

/** Types whose sequences take bytes; ROS 2's char and byte arrive here as uint8. */
const BYTE_TYPES = new Set(['uint8', 'byte', 'char']);
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

class Problem {
  constructor(readonly text: string) {}
}

/** What a value is, in a message: `null`, `array`, a typed array's class, or its typeof. */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (ArrayBuffer.isView(value)) return value.constructor.name;
  return typeof value;
}

function at(path: readonly string[], problem: string): Problem {
  return new Problem(path.length ? `${formatPath(path)}: ${problem}` : problem);
}

/**
 * Checks a message given as JSON-like values (what a model, a Foxglove client or an API caller sends)
 * against its ROS 2 type before it is encoded, because the CDR writer never refuses: a wrong JS type
 * becomes 0, '' or false, an integer wraps, an unknown key vanishes, and a non-array with a `length`
 * writes a sequence length with no items after it. Missing fields are allowed (they take their
 * defaults, as a partial Twist is a Twist). Each problem names the field path:
 * `linear.x: expected number (float64), got string`.
 *
 * The value it returns is the one to encode: the same object, or a copy where 64-bit integers (given as
 * numbers, or as decimal strings since JSON has no exact form for them) are bigints.
 */
export class FieldValidator {
  readonly type: string;
  #types: Map<string, MessageDefinitionField[]>;

  constructor(type: string, definitions: readonly MessageDefinition[]) {
    this.type = type;
    this.#types = new Map(definitions.map((d) => [d.name ?? '', d.definitions.filter((f) => !f.isConstant)]));
  }

  check(value: unknown, options: FieldCheckOptions = {}): FieldCheck {
    const result = this.#object(value, this.type, [], options.anyFloat === true);
    return result instanceof Problem ? { ok: false, problem: result.text } : { ok: true, value: result };
  }

  // The walk follows the definition, not the value, so a deeply nested value costs no deeper recursion.
  #object(value: unknown, type: string, path: string[], anyFloat: boolean): unknown {
    if (kindOf(value) !== 'object')
      return at(path, `expected ${path.length ? 'object' : `a ${type} object`}, got ${kindOf(value)}`);
    const fields = this.#types.get(type) ?? [];
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (fields.some((f) => f.name === key)) continue;
      const guess = didYouMean(
        key,
        fields.map((f) => f.name),
      );
      return at(
        [...path, key],
        `not a field of ${type} (${guess ? `did you mean "${guess}"?` : `fields: ${fields.map((f) => f.name).join(', ')}`})`,
      );
    }
    let copy: Record<string, unknown> | undefined;
    for (const field of fields) {
      const v = record[field.name];
      if (v === undefined) continue;
      const checked = field.isArray
        ? this.#array(v, field, [...path, field.name], anyFloat)
        : this.#item(v, field, [...path, field.name], anyFloat);
      if (checked instanceof Problem) return checked;
      if (checked !== v) (copy ??= { ...record })[field.name] = checked;
    }
    return copy ?? value;
  }

  #array(given: unknown, field: MessageDefinitionField, path: string[], anyFloat: boolean): unknown {
    const bytes = BYTE_TYPES.has(field.type);
    const value = bytes ? asBytes(given) : given;
    if (value instanceof Problem) return at(path, value.text);
    const typed = ArrayBuffer.isView(value) && TYPED_ARRAYS[field.type]?.some((ctor) => value instanceof ctor) === true;
    if (!Array.isArray(value) && !typed)
      return at(path, `expected array${bytes ? ' or base64 string' : ''}, got ${kindOf(value)}`);
    const items = value as ArrayLike<unknown>;
    if (field.arrayLength !== undefined && items.length !== field.arrayLength)
      return at(path, `expected ${field.arrayLength} items, got ${items.length}`);
    if (field.arrayUpperBound !== undefined && items.length > field.arrayUpperBound)
      return at(path, `expected at most ${field.arrayUpperBound} items, got ${items.length}`);
    // A typed array of the right class holds only values of the type. Its floats are taken as they are,
    // NaN and ±Inf included: it comes from code (a LaserScan's ranges use them, REP 117), not a model's JSON.
    if (typed) return value;
    let copy: unknown[] | undefined;
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      const checked = this.#item(item, field, [...path, String(i)], anyFloat);
      if (checked instanceof Problem) return checked;
      if (checked !== item) (copy ??= Array.from(items))[i] = checked;
    }
    return copy ?? value;
  }

  #item(value: unknown, field: MessageDefinitionField, path: string[], anyFloat: boolean): unknown {
    if (field.isComplex === true) return this.#object(value, field.type, path, anyFloat);
    const { type } = field;
    if (type === 'bool') return typeof value === 'boolean' ? value : at(path, `expected boolean, got ${kindOf(value)}`);
    if (type === 'string') {
      if (typeof value !== 'string') return at(path, `expected string, got ${kindOf(value)}`);
      if (field.upperBound === undefined || value.length <= field.upperBound / 3) return value;
      // A ROS 2 bound counts the bytes CDR carries (a C char each), not characters: "日本" is 6 of them.
      const size = Buffer.byteLength(value, 'utf8');
      return size > field.upperBound
        ? at(
            path,
            `expected at most ${field.upperBound} bytes (UTF-8), got ${size}${size === value.length ? '' : ` for ${[...value].length} characters`}`,
          )
        : value;
    }
    if (type === 'wstring') return at(path, 'wstring fields cannot be written (the CDR writer does not support them)');
    const range = INTEGER_RANGES[type];
    if (range) return integer(value, type, range, path);
    if (type !== 'float32' && type !== 'float64') return at(path, `cannot check a field of type ${type}`);
    if (typeof value !== 'number') return at(path, `expected number (${type}), got ${kindOf(value)}`);
    if (anyFloat) return value;
    if (!Number.isFinite(value)) return at(path, `expected a finite number (${type}), got ${value}`);
    if (type === 'float32' && Math.abs(value) > FLOAT32_MAX)
      return at(path, `expected float32 (at most ${FLOAT32_MAX} in size), got ${value}`);
    return value;
  }
}

/**
 * A byte sequence in the forms the writer does not take as they are: a base64 string (how rosbridge and
 * ROS 2's JSON conversions give uint8[] and char[]) decoded, and an Int8Array (a C char buffer) seen as the
 * same bytes unsigned. Anything else is returned as given.
 */
function asBytes(value: unknown): unknown {
  if (value instanceof Int8Array) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value !== 'string') return value;
  if (!BASE64.test(value))
    return new Problem(
      `expected array or base64 string, got a string that is not base64 (${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)})`,
    );
  return new Uint8Array(Buffer.from(value, 'base64'));
}

/**
 * An integer of `type` as the writer takes it: a number, or for 64-bit types a bigint made from a number,
 * a bigint or a decimal string (a JSON number past 2^53 has already lost its last digits).
 */
function integer(value: unknown, type: string, [min, max]: readonly [bigint, bigint], path: string[]): unknown {
  const expected = `expected ${type} (an integer from ${min} to ${max}${WIDE.has(type) ? ', as a number or a decimal string' : ''})`;
  let exact: bigint;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return at(path, `${expected}, got ${value}`);
    if (WIDE.has(type) && !Number.isSafeInteger(value))
      return at(path, `${expected}, got ${value}, past 2^53 where a number is not exact: give it as a string`);
    exact = BigInt(value);
  } else if (WIDE.has(type) && typeof value === 'bigint') {
    exact = value;
  } else if (WIDE.has(type) && typeof value === 'string' && /^-?\d{1,20}$/.test(value)) {
    exact = BigInt(value);
  } else {
    return at(
      path,
      `${expected}, got ${typeof value === 'string' ? JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value) : kindOf(value)}`,
    );
  }
  if (exact < min || exact > max) return at(path, `${expected}, got ${exact}`);
  // The writer takes a number for one int64, but a sequence of them only as bigints (`new BigInt64Array([1])` throws).
  return WIDE.has(type) ? exact : value;
}
