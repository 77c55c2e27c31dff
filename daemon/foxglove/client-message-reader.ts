import type { MessageDefinition, MessageDefinitionField } from '@foxglove/message-definition';
import { MessageReader } from '@foxglove/rosmsg2-serialization';
import '../bus/cdr-bounds.ts';
import { didYouMean } from '../config/did-you-mean.ts';
import { formatPath } from '../contract/validate.ts';

export type ReadResult = { ok: true; fields: unknown } | { ok: false; problem: string };

/** The encapsulations ROS 2 sends (plain CDR); the reader decodes no others right, so none other is taken. */
const ENCAPSULATIONS = new Map([
  [0x00, 'CDR_BE'],
  [0x01, 'CDR_LE'],
]);
const ENCAPSULATION_LIST = [...ENCAPSULATIONS].map(([id, name]) => `0x${hex(id)} (${name})`).join(', ');
/** CDR may pad a message to a multiple of 4 bytes; more after it is not the message. */
const MAX_PADDING = 3;
/** One decoder for every JSON message (TextDecoder keeps no state between decode calls without stream). */
const UTF8 = new TextDecoder();

const INTEGER_RANGES: Record<string, readonly [number, number]> = {
  int8: [-(2 ** 7), 2 ** 7 - 1],
  uint8: [0, 2 ** 8 - 1],
  byte: [0, 2 ** 8 - 1],
  char: [0, 2 ** 8 - 1],
  int16: [-(2 ** 15), 2 ** 15 - 1],
  uint16: [0, 2 ** 16 - 1],
  int32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
  int64: [-(2 ** 63), 2 ** 63 - 1],
  uint64: [0, 2 ** 64 - 1],
};

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** What a JSON value is, in a message: `null`, `array`, or its typeof. */
function kindOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

function at(path: readonly string[], problem: string): string {
  return path.length ? `${formatPath(path)}: ${problem}` : problem;
}

/**
 * Reads what a client publishes on a channel of one message type, and refuses anything that is not that
 * type, so no bad bytes reach the bus: CDR in an encapsulation ROS 2 does not send, CDR with bytes after
 * the message (past CDR's padding), JSON that does not have the type's shape (a wrong type, an unknown
 * field). Missing JSON fields are allowed: they are encoded as their defaults (0, ''), as a partial Twist
 * is a Twist. Each problem names the field path: `linear: expected object, got string`.
 *
 * It holds its own CDR reader, not the codec's: it needs how many bytes the message took.
 */
export class ClientMessageReader {
  readonly type: string;
  #types: Map<string, MessageDefinitionField[]>;
  #cdr: MessageReader;

  constructor(type: string, definitions: readonly MessageDefinition[]) {
    this.type = type;
    this.#types = new Map(definitions.map((d) => [d.name ?? '', d.definitions]));
    this.#cdr = new MessageReader([...definitions]);
  }

  read(encoding: 'cdr' | 'json', bytes: Uint8Array): ReadResult {
    return encoding === 'cdr' ? this.#readCdr(bytes) : this.#readJson(bytes);
  }

  #readCdr(bytes: Uint8Array): ReadResult {
    if (bytes.byteLength < 4) return { ok: false, problem: `${bytes.byteLength} bytes are not CDR: it starts with a 4-byte encapsulation header` };
    const encapsulation = (bytes[0]! << 8) | bytes[1]!;
    if (!ENCAPSULATIONS.has(encapsulation)) return { ok: false, problem: `CDR encapsulation 0x${hex(encapsulation)} is not one of ${ENCAPSULATION_LIST}` };
    let fields: unknown;
    try {
      fields = this.#cdr.readMessage(bytes);
    } catch (error) {
      const hint = error instanceof RangeError ? ' (cut short, or a length in it is wrong)' : '';
      return { ok: false, problem: `${bytes.byteLength} bytes do not decode as CDR ${this.type}${hint}: ${(error as Error).message}` };
    }
    // No read went past the view's end (cdr-bounds.ts), so what it used is within the bytes.
    const used = this.#cdr.lastReadByteLength();
    const extra = bytes.byteLength - used;
    if (extra > MAX_PADDING) return { ok: false, problem: `${extra} bytes follow the ${used}-byte CDR ${this.type} (CDR pads at most ${MAX_PADDING})` };
    return { ok: true, fields };
  }

  #readJson(bytes: Uint8Array): ReadResult {
    let value: unknown;
    try {
      value = JSON.parse(UTF8.decode(bytes));
    } catch (error) {
      return { ok: false, problem: `not JSON: ${(error as Error).message}` };
    }
    const problem = this.#object(value, this.type, []);
    return problem === undefined ? { ok: true, fields: value } : { ok: false, problem };
  }

  // The walk follows the definition, not the value, so a deeply nested value costs no deeper recursion.
  #object(value: unknown, type: string, path: string[]): string | undefined {
    if (kindOf(value) !== 'object') return at(path, `expected ${path.length ? 'object' : `a ${type} object`}, got ${kindOf(value)}`);
    const fields = (this.#types.get(type) ?? []).filter((f) => !f.isConstant);
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (fields.some((f) => f.name === key)) continue;
      const guess = didYouMean(key, fields.map((f) => f.name));
      return at([...path, key], `not a field of ${type} (${guess ? `did you mean "${guess}"?` : `fields: ${fields.map((f) => f.name).join(', ')}`})`);
    }
    for (const field of fields) {
      const v = record[field.name];
      if (v === undefined) continue;
      const problem = field.isArray ? this.#array(v, field, [...path, field.name]) : this.#item(v, field, [...path, field.name]);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }

  #array(value: unknown, field: MessageDefinitionField, path: string[]): string | undefined {
    if (!Array.isArray(value)) return at(path, `expected array, got ${kindOf(value)}`);
    if (field.arrayLength !== undefined && value.length !== field.arrayLength) return at(path, `expected ${field.arrayLength} items, got ${value.length}`);
    if (field.arrayUpperBound !== undefined && value.length > field.arrayUpperBound) return at(path, `expected at most ${field.arrayUpperBound} items, got ${value.length}`);
    for (let i = 0; i < value.length; i++) {
      const problem = this.#item(value[i], field, [...path, String(i)]);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }

  #item(value: unknown, field: MessageDefinitionField, path: string[]): string | undefined {
    if (field.isComplex === true) return this.#object(value, field.type, path);
    const { type } = field;
    if (type === 'bool') return typeof value === 'boolean' ? undefined : at(path, `expected boolean, got ${kindOf(value)}`);
    if (type === 'string' || type === 'wstring') {
      if (typeof value !== 'string') return at(path, `expected string, got ${kindOf(value)}`);
      return field.upperBound !== undefined && value.length > field.upperBound ? at(path, `expected at most ${field.upperBound} characters, got ${value.length}`) : undefined;
    }
    if (typeof value !== 'number') return at(path, `expected number (${type}), got ${kindOf(value)}`);
    const range = INTEGER_RANGES[type];
    // A float may be out of range or not finite (1e999): the policy hooks clamp it, as they do for CDR.
    if (range && !(Number.isInteger(value) && value >= range[0] && value <= range[1])) return at(path, `expected ${type} (an integer from ${range[0]} to ${range[1]}), got ${value}`);
    return undefined;
  }
}
