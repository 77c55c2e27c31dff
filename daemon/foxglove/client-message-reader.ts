import type { MessageDefinition } from '@foxglove/message-definition';
import { MessageReader } from '@foxglove/rosmsg2-serialization';
import '../bus/index.ts';
import { FieldValidator } from '../bus/index.ts';
import { errorText } from '../util/index.ts';

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

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/**
 * Reads what a client publishes on a channel of one message type, and refuses anything that is not that
 * type, so no bad bytes reach the bus: CDR in an encapsulation ROS 2 does not send, CDR with bytes after
 * the message (past CDR's padding), JSON that does not have the type's shape (a wrong type, an unknown
 * field; see FieldValidator). Missing JSON fields are allowed: they are encoded as their defaults (0, ''),
 * as a partial Twist is a Twist. Each problem names the field path: `linear: expected object, got string`.
 *
 * It holds its own CDR reader, not the codec's: it needs how many bytes the message took.
 */
export class ClientMessageReader {
  readonly type: string;
  #fields: FieldValidator;
  #cdr: MessageReader;

  constructor(type: string, definitions: readonly MessageDefinition[]) {
    this.type = type;
    this.#fields = new FieldValidator(type, definitions);
    this.#cdr = new MessageReader([...definitions]);
  }

  read(encoding: 'cdr' | 'json', bytes: Uint8Array): ReadResult {
    return encoding === 'cdr' ? this.#readCdr(bytes) : this.#readJson(bytes);
  }

  #readCdr(bytes: Uint8Array): ReadResult {
    if (bytes.byteLength < 4)
      return {
        ok: false,
        problem: `${bytes.byteLength} bytes are not CDR: it starts with a 4-byte encapsulation header`,
      };
    const encapsulation = (bytes[0]! << 8) | bytes[1]!;
    if (!ENCAPSULATIONS.has(encapsulation))
      return { ok: false, problem: `CDR encapsulation 0x${hex(encapsulation)} is not one of ${ENCAPSULATION_LIST}` };
    let fields: unknown;
    try {
      fields = this.#cdr.readMessage(bytes);
    } catch (error) {
      const hint = error instanceof RangeError ? ' (cut short, or a length in it is wrong)' : '';
      return {
        ok: false,
        problem: `${bytes.byteLength} bytes do not decode as CDR ${this.type}${hint}: ${errorText(error)}`,
      };
    }
    // No read went past the view's end (cdr-bounds.ts), so what it used is within the bytes.
    const used = this.#cdr.lastReadByteLength();
    const extra = bytes.byteLength - used;
    if (extra > MAX_PADDING)
      return {
        ok: false,
        problem: `${extra} bytes follow the ${used}-byte CDR ${this.type} (CDR pads at most ${MAX_PADDING})`,
      };
    return { ok: true, fields };
  }

  #readJson(bytes: Uint8Array): ReadResult {
    let value: unknown;
    try {
      value = JSON.parse(UTF8.decode(bytes));
    } catch (error) {
      return { ok: false, problem: `not JSON: ${errorText(error)}` };
    }
    const checked = this.#fields.check(value, { anyFloat: true });
    return checked.ok ? { ok: true, fields: checked.value } : checked;
  }
}
