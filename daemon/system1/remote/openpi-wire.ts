import { Decoder } from '@msgpack/msgpack';
import type { WireTensor } from './chunk-check.ts';

/**
 * openpi's websocket wire, as openpi-client's msgpack_numpy writes and reads it: every message is msgpack; a NumPy
 * array is a map whose keys are msgpack bin (Python bytes) `__ndarray__` (true), `data` (the array's bytes, C order),
 * `dtype` (its dtype.str, `<f4`, `|u1`) and `shape` (a list of ints). The server's first message is its metadata (a
 * map); then each observation (a map of arrays and plain values by key) is answered by one map holding `actions`.
 * Nothing is pickled either way: msgpack_numpy refuses object arrays, and this reader knows no other kind.
 */

/** An input as the loop filled it, with the shape the policy's config declares. */
export interface ObservationArray {
  name: string;
  shape: readonly number[];
  data: Float32Array | Uint8Array;
}

const BIN_KEYS = {
  ndarray: Buffer.from('__ndarray__'),
  data: Buffer.from('data'),
  dtype: Buffer.from('dtype'),
  shape: Buffer.from('shape'),
};

/**
 * One observation as openpi-client's Packer writes it: the arrays (float32 `<f4`, uint8 `|u1`), then the constant
 * fields (a prompt). Written in one buffer: a camera's frame is copied once, into the message.
 */
export function encodeObservation(
  arrays: readonly ObservationArray[],
  fields: Record<string, string | number>,
): Uint8Array {
  const entries = Object.entries(fields);
  const writer = new MsgpackWriter(MsgpackWriter.capacity(arrays, entries));
  writer.mapHeader(arrays.length + entries.length);
  for (const a of arrays) {
    writer.str(a.name);
    writer.mapHeader(4);
    writer.bin(BIN_KEYS.ndarray);
    writer.bool(true);
    writer.bin(BIN_KEYS.data);
    writer.bin(new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength));
    writer.bin(BIN_KEYS.dtype);
    writer.str(a.data instanceof Uint8Array ? '|u1' : '<f4');
    writer.bin(BIN_KEYS.shape);
    writer.arrayHeader(a.shape.length);
    for (const d of a.shape) writer.uint(d);
  }
  for (const [key, value] of entries) {
    writer.str(key);
    if (typeof value === 'string') writer.str(value);
    else if (Number.isInteger(value) && value >= 0 && value < 2 ** 32) writer.uint(value);
    else writer.float64(value);
  }
  return writer.finish();
}

/** A message of the server that is not what openpi's wire carries: its reason and what was wrong. */
export class OpenpiWireError extends Error {
  override name = 'OpenpiWireError';
}

const KEY_TEXT = new TextDecoder();

/**
 * A reader of a server's messages: msgpack with bin map keys read as text (`__ndarray__`), strings and bins up to
 * `maxBytes`. The key `__proto__` is refused in either form (as text, @msgpack/msgpack refuses it itself): set on a
 * plain object it would replace its prototype. Any msgpack fault (truncated, a reserved byte, a string that is not
 * UTF-8) is an OpenpiWireError. One reader serves one connection's messages, one at a time.
 */
export function messageReader(maxBytes: number): (bytes: Uint8Array) => unknown {
  const decoder = new Decoder({
    maxBinLength: maxBytes,
    maxStrLength: maxBytes,
    // A reply is a few keys and a shape; metadata a few more. Tens of thousands of entries are a flood.
    maxArrayLength: 65_536,
    maxMapLength: 4096,
    mapKeyConverter: (key) => {
      if (typeof key === 'string' || typeof key === 'number') return key;
      if (key instanceof Uint8Array) {
        const text = KEY_TEXT.decode(key);
        if (text === '__proto__') throw new OpenpiWireError('a map key __proto__ (bytes) is not accepted');
        return text;
      }
      throw new OpenpiWireError(`a map key of type ${typeof key} is not accepted (keys are text or bytes)`);
    },
  });
  return (bytes) => {
    try {
      return decoder.decode(bytes);
    } catch (error) {
      if (error instanceof OpenpiWireError) throw error;
      throw new OpenpiWireError(`not msgpack as openpi writes it: ${(error as Error).message}`);
    }
  };
}

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The reply's `output` array (openpi's `actions`), as its bytes and the dtype and shape it claims. */
export function replyArray(reply: unknown, output: string): WireTensor & { serverMs: number | undefined } {
  if (!isMap(reply) || reply instanceof Uint8Array)
    throw new OpenpiWireError(`the reply is ${describe(reply)}, not a map holding ${JSON.stringify(output)}`);
  const array = reply[output];
  if (array === undefined)
    throw new OpenpiWireError(
      `the reply has no ${JSON.stringify(output)} (keys: ${Object.keys(reply).slice(0, 8).join(', ') || 'none'})`,
    );
  if (!isMap(array) || array.__ndarray__ !== true)
    throw new OpenpiWireError(`the reply's ${JSON.stringify(output)} is ${describe(array)}, not a NumPy array`);
  const { data, dtype, shape } = array;
  if (!(data instanceof Uint8Array)) throw new OpenpiWireError(`its data is ${describe(data)}, not bytes`);
  if (typeof dtype !== 'string') throw new OpenpiWireError(`its dtype is ${describe(dtype)}, not a dtype string`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0))
    throw new OpenpiWireError(`its shape is ${describe(shape)}, not a list of whole numbers`);
  const timing = reply.server_timing;
  const inferMs = isMap(timing) ? timing.infer_ms : undefined;
  return { dtype, shape: shape as number[], bytes: data, serverMs: typeof inferMs === 'number' ? inferMs : undefined };
}

/** A value named for an error, never printed whole (it came from the network). */
function describe(v: unknown): string {
  if (v instanceof Uint8Array) return `${v.byteLength} bytes`;
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (v === null || typeof v !== 'object') return typeof v === 'string' ? `a string of ${v.length}` : String(v);
  return 'a map';
}

/** A map key, a dtype, a shape's dimension: the room each takes at most beyond its bytes (msgpack's longest header). */
const HEADER_ROOM = 9;

/**
 * The few msgpack forms an observation needs, written by hand into one buffer: @msgpack/msgpack writes every map key as
 * text, and msgpack_numpy looks its keys up as bytes. `capacity` is an upper bound of the message's size, so nothing
 * is copied twice: a camera's frame goes straight into the message.
 */
class MsgpackWriter {
  readonly #out: Buffer;
  #at = 0;

  constructor(capacity: number) {
    this.#out = Buffer.allocUnsafe(capacity);
  }

  /** An upper bound of what `arrays` and `fields` take once written. */
  static capacity(arrays: readonly ObservationArray[], fields: [string, string | number][]): number {
    let n = HEADER_ROOM;
    for (const a of arrays) n += 4 * a.name.length + a.data.byteLength + (12 + a.shape.length) * HEADER_ROOM + 64;
    for (const [key, value] of fields) n += 4 * key.length + (typeof value === 'string' ? 4 * value.length : 0) + 32;
    return n;
  }

  #byte(b: number): void {
    this.#out[this.#at++] = b;
  }

  #sized(small: number | undefined, tiny: number, b8: number | undefined, b16: number, b32: number, n: number): void {
    if (small !== undefined && n < tiny) return this.#byte(small + n);
    if (b8 !== undefined && n < 0x100) {
      this.#byte(b8);
      return this.#byte(n);
    }
    if (n < 0x10000) {
      this.#byte(b16);
      this.#at = this.#out.writeUInt16BE(n, this.#at);
      return;
    }
    this.#byte(b32);
    this.#at = this.#out.writeUInt32BE(n, this.#at);
  }

  mapHeader(n: number): void {
    this.#sized(0x80, 16, undefined, 0xde, 0xdf, n);
  }

  arrayHeader(n: number): void {
    this.#sized(0x90, 16, undefined, 0xdc, 0xdd, n);
  }

  str(text: string): void {
    const length = Buffer.byteLength(text, 'utf8');
    this.#sized(0xa0, 32, 0xd9, 0xda, 0xdb, length);
    this.#at += this.#out.write(text, this.#at, 'utf8');
  }

  bin(bytes: Uint8Array): void {
    this.#sized(undefined, 0, 0xc4, 0xc5, 0xc6, bytes.byteLength);
    this.#out.set(bytes, this.#at);
    this.#at += bytes.byteLength;
  }

  bool(value: boolean): void {
    this.#byte(value ? 0xc3 : 0xc2);
  }

  /** A shape's dimension, a whole number below 2^32. */
  uint(n: number): void {
    if (n < 0x80) this.#byte(n);
    else this.#sized(undefined, 0, 0xcc, 0xcd, 0xce, n);
  }

  float64(value: number): void {
    this.#byte(0xcb);
    this.#at = this.#out.writeDoubleBE(value, this.#at);
  }

  finish(): Buffer {
    return this.#out.subarray(0, this.#at);
  }
}
