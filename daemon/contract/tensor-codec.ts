import { errorText } from '../util/index.ts';
/**
 * The payload of `ai/inference/vla/<policy>`: a small JSON header followed by raw little-endian tensors.
 * Any language can read it with a JSON parser and a byte buffer; nothing is pickled.
 *
 *   bytes 0..3     uint32 LE: H, the byte length of the header
 *   bytes 4..4+H   UTF-8 JSON header, padded with spaces so that 4 + H is a multiple of 8
 *   bytes 4+H..    tensor data; tensor i starts at 4 + H + tensors[i].offset (a multiple of 8)
 *  Header: { "tensors": [{ "name", "dtype": "float32", "shape": [..], "offset" }], ...fields }. A tensor's byte length
 * is 4 x the product of its shape (dimensions up to 2^53 - 1); tensors do not overlap. Other fields carry request or
 * reply metadata (`timestep`, `chunk`, `inference_us`); an error reply has `"error": { "code", "message" }` and no
 * tensors.
 */
export const TENSOR_ENCODING = 'application/x-auraison-tensors';

/**
 * What an image entry's bytes are: a raw frame, as the fields of sensor_msgs/msg/Image that say how to read its
 * `data`, or a compressed one, as CompressedImage's `format` ("jpeg", "png"). Checked here for their types only:
 * which encodings and sizes are taken is the decoder's to say.
 */
export type TensorImage =
  { encoding: string; width: number; height: number; step: number; is_bigendian?: boolean } | { format: string };

/**
 * A tensor of a payload: float32 or uint8 (a uint8 model input's bytes) in the model's layout; or with `image`, an
 * encoded frame's bytes, `shape` being [their length].
 */
export type NamedTensor =
  | { name: string; shape: number[]; data: Float32Array | Uint8Array; image?: undefined }
  | { name: string; shape: number[]; data: Uint8Array; image: TensorImage };

export interface TensorMessage {
  tensors: NamedTensor[];
  fields: Record<string, unknown>;
}

/** A payload that doesn't follow the format; `code` is what an error reply carries. */
export class TensorCodecError extends Error {
  override name = 'TensorCodecError';
  readonly code: 'bad_payload' | 'bad_dtype' | 'bad_shape' | 'not_finite' | 'bad_image';
  constructor(code: TensorCodecError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const align8 = (n: number): number => (n + 7) & ~7;
const DTYPE_BYTES: Record<string, number> = { float32: 4, uint8: 1 };

export function encodeTensors(tensors: readonly NamedTensor[], fields: Record<string, unknown> = {}): Uint8Array {
  let offset = 0;
  const entries = tensors.map((t) => {
    const dtype = t.data instanceof Uint8Array ? 'uint8' : 'float32';
    const entry = { name: t.name, dtype, shape: t.shape, offset, ...(t.image ? { image: t.image } : {}) };
    offset = align8(offset + t.data.byteLength);
    return entry;
  });
  let header = encoder.encode(JSON.stringify({ ...fields, tensors: entries }));
  const padded = align8(4 + header.byteLength) - 4;
  if (padded !== header.byteLength) {
    const withSpaces = new Uint8Array(padded).fill(0x20);
    withSpaces.set(header);
    header = withSpaces;
  }
  const out = new Uint8Array(4 + header.byteLength + offset);
  new DataView(out.buffer).setUint32(0, header.byteLength, true);
  out.set(header, 4);
  const base = 4 + header.byteLength;
  for (let i = 0; i < tensors.length; i++) {
    const t = tensors[i]!;
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    if (LITTLE_ENDIAN || t.data instanceof Uint8Array) out.set(bytes, base + entries[i]!.offset);
    else {
      const view = new DataView(out.buffer, base + entries[i]!.offset, t.data.byteLength);
      for (let j = 0; j < t.data.length; j++) view.setFloat32(j * 4, t.data[j]!, true);
    }
  }
  return out;
}

export function encodeError(code: string, message: string, fields: Record<string, unknown> = {}): Uint8Array {
  return encodeTensors([], { ...fields, error: { code, message } });
}

export function decodeTensors(payload: Uint8Array): TensorMessage {
  if (payload.byteLength < 4)
    throw new TensorCodecError(
      'bad_payload',
      `payload of ${payload.byteLength} bytes is too short for a header length`,
    );
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const headerLength = view.getUint32(0, true);
  if (4 + headerLength > payload.byteLength) {
    throw new TensorCodecError(
      'bad_payload',
      `header length ${headerLength} runs past the end of the ${payload.byteLength}-byte payload`,
    );
  }
  let header: unknown;
  try {
    header = JSON.parse(decoder.decode(payload.subarray(4, 4 + headerLength)));
  } catch (error) {
    throw new TensorCodecError('bad_payload', `header is not UTF-8 JSON: ${errorText(error)}`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header))
    throw new TensorCodecError('bad_payload', 'header must be a JSON object');
  const { tensors: list = [], ...fields } = header as { tensors?: unknown };
  if (!Array.isArray(list)) throw new TensorCodecError('bad_payload', 'header.tensors must be a list');
  const base = 4 + headerLength;
  const dataLength = payload.byteLength - base;
  // Tensors may not share bytes: in all they are no more than the data. Without this, a thousand entries
  // naming the same megabyte at an odd offset would each be copied out, a gigabyte from a 1 MB request.
  let claimed = 0;
  const tensors = list.map((entry: unknown, i): NamedTensor => {
    const where = `header.tensors[${i}]`;
    if (entry === null || typeof entry !== 'object')
      throw new TensorCodecError('bad_payload', `${where} must be an object`);
    const { name, dtype, shape, offset, image } = entry as Record<string, unknown>;
    if (typeof name !== 'string' || name.length === 0)
      throw new TensorCodecError('bad_payload', `${where}.name must be a non-empty string`);
    const size = typeof dtype === 'string' && Object.hasOwn(DTYPE_BYTES, dtype) ? DTYPE_BYTES[dtype]! : 0;
    if (size === 0)
      throw new TensorCodecError(
        'bad_dtype',
        `tensor ${quoted(name)} has dtype ${quoted(dtype)}; send float32 (or uint8: a uint8 input, or an image's bytes)`,
      );
    // Safe integers only: past 2^53 a product is not exact, and [1e308, 1e308, 0] would count NaN elements.
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
      throw new TensorCodecError(
        'bad_shape',
        `tensor ${quoted(name)} shape must be a list of non-negative integers (up to 2^53 - 1), got ${quoted(shape)}`,
      );
    }
    if (!Number.isInteger(offset) || (offset as number) < 0)
      throw new TensorCodecError('bad_payload', `${where}.offset must be a non-negative integer`);
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    const start = offset as number;
    if (start + count * size > dataLength) {
      throw new TensorCodecError(
        'bad_payload',
        `tensor ${quoted(name)} (${count} ${dtype as string} from offset ${start}) runs past the ${dataLength} data bytes`,
      );
    }
    claimed += count * size;
    if (claimed > dataLength) {
      throw new TensorCodecError(
        'bad_payload',
        `tensor ${quoted(name)} and those before it claim ${claimed} bytes in all, more than the ${dataLength} data bytes: tensors must not overlap`,
      );
    }
    const at = payload.byteOffset + base + start;
    if (size === 1) {
      const data = new Uint8Array(payload.buffer, at, count);
      if (image === undefined) return { name, shape: shape as number[], data };
      return {
        name,
        shape: shape as number[],
        data,
        image: imageHeader(`tensor ${quoted(name)}.image`, image, shape as number[]),
      };
    }
    if (image !== undefined)
      throw new TensorCodecError(
        'bad_image',
        `tensor ${quoted(name)} has an image and dtype float32: an image's bytes are uint8, shape [byte length]`,
      );
    let data: Float32Array;
    if (LITTLE_ENDIAN && at % 4 === 0) data = new Float32Array(payload.buffer, at, count);
    else {
      data = new Float32Array(count);
      const dv = new DataView(payload.buffer, at, count * 4);
      for (let j = 0; j < count; j++) data[j] = dv.getFloat32(j * 4, true);
    }
    return { name, shape: shape as number[], data };
  });
  return { tensors, fields };
}

/** The most characters of an image's encoding or format: ROS's names are short, and errors quote them back. */
const IMAGE_NAME_LIMIT = 64;
const RAW_KEYS = ['encoding', 'width', 'height', 'step', 'is_bigendian'];
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** An entry's `image`, checked for its types (see TensorImage); `where` names it in errors. */
function imageHeader(where: string, value: unknown, shape: readonly number[]): TensorImage {
  const bad = (why: string) => new TensorCodecError('bad_image', `${where} ${why}`);
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw bad(`must be {"encoding", "width", "height", "step"} (a raw frame) or {"format"}, got ${quoted(value)}`);
  if (shape.length !== 1) throw bad(`comes with shape [byte length], got ${quoted(shape)}`);
  const v = value as Record<string, unknown>;
  const compressed = Object.hasOwn(v, 'format');
  if (compressed === Object.hasOwn(v, 'encoding'))
    throw bad('needs one of "encoding" (a raw frame, with width, height and step) or "format" (jpeg, png)');
  const keys = compressed ? ['format'] : RAW_KEYS;
  for (const key of Object.keys(v))
    if (!keys.includes(key)) throw bad(`has no key ${quoted(key)} (keys: ${keys.join(', ')})`);
  const text = (key: string): string => {
    const s = v[key];
    if (typeof s !== 'string' || s.length === 0 || s.length > IMAGE_NAME_LIMIT)
      throw bad(`.${key} must be a string of 1 to ${IMAGE_NAME_LIMIT} characters, got ${quoted(s)}`);
    return s;
  };
  if (compressed) return { format: text('format') };
  const whole = (key: string): number => {
    const n = v[key];
    if (!Number.isSafeInteger(n) || (n as number) < 0) throw bad(`.${key} must be a whole number, got ${quoted(n)}`);
    return n as number;
  };
  const big = v.is_bigendian;
  if (big !== undefined && big !== true && big !== false && big !== 0 && big !== 1)
    throw bad(`.is_bigendian must be true, false, 0 or 1, got ${quoted(big)}`);
  return {
    encoding: text('encoding'),
    width: whole('width'),
    height: whole('height'),
    step: whole('step'),
    ...(big === undefined ? {} : { is_bigendian: big === true || big === 1 }),
  };
}

/**
 * An image input written as JSON: sensor_msgs/msg/Image or CompressedImage as rosbridge writes them, `data` in
 * base64 (a message's `header` is ignored): `{"encoding": "rgb8", "width": 640, "height": 480, "step": 1920,
 * "data": "..."}` or `{"format": "jpeg", "data": "..."}`.
 */
export function imageFromJson(name: string, value: Record<string, unknown>): NamedTensor {
  const { data, header: _stamp, ...image } = value;
  if (typeof data !== 'string' || !BASE64.test(data))
    throw new TensorCodecError('bad_image', `input ${quoted(name)}.data must be the frame's bytes in base64`);
  const bytes = Buffer.from(data, 'base64');
  const shape = [bytes.byteLength];
  return {
    name,
    shape,
    data: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    image: imageHeader(`input ${quoted(name)}`, image, shape),
  };
}

/** Leading 1s dropped: [1, 13] and [13] are one shape (a missing batch dimension); [13, 1] is another. */
export const withoutLeadingOnes = (shape: readonly number[]): number[] => {
  let i = 0;
  while (i < shape.length && shape[i] === 1) i++;
  return shape.slice(i);
};

/** The most characters of a caller's value an error message quotes: a 1 MB string is not sent back whole. */
const QUOTE_LIMIT = 200;

/**
 * A caller's JSON value for an error message, at most about QUOTE_LIMIT characters. A list or object is named,
 * not printed, unless it is a short list of scalars (a shape): JSON.stringify recurses, so a deeply nested one
 * would overflow the stack while building the very message that reports it.
 */
export function quoted(value: unknown): string {
  if (Array.isArray(value)) {
    if (value.length > QUOTE_LIMIT / 2 || value.some((x) => x !== null && typeof x === 'object'))
      return `a list of ${value.length}`;
  } else if (value !== null && typeof value === 'object') return 'an object';
  if (typeof value === 'string' && value.length > QUOTE_LIMIT)
    return `${JSON.stringify(value.slice(0, QUOTE_LIMIT))}... (${value.length} characters)`;
  const text = JSON.stringify(value) ?? String(value);
  return text.length > QUOTE_LIMIT ? `${text.slice(0, QUOTE_LIMIT)}...` : text;
}

/** How much deeper than the model's rank a JSON input may nest: leading 1s (batch dimensions) are optional. */
const RANK_SLACK = 4;

/**
 * A tensor written as JSON: a number, or a list (nested for each dimension) of numbers. The shape is the
 * nesting, so the list must be rectangular. JSON has no NaN (JSON.stringify writes null), so a null names
 * the element rather than reaching the model as a NaN the caller never sees.
 *
 * `declared` is the model's shape for the input: the nesting must match it (leading 1s aside) before the
 * Float32Array is made. The shape is read off the first element at each level, so without that check (and the
 * walk that proves every row has its length) a few KB of `[[[0, 0, ...], 0, ...], 0, ...]` would claim billions
 * of elements. The depth is capped too: the walk recurses once per level.
 */
export function tensorFromJson(name: string, value: unknown, declared: readonly number[]): NamedTensor {
  const input = `input ${quoted(name)}`;
  const maxRank = declared.length + RANK_SLACK;
  const shape: number[] = [];
  for (let v = value; Array.isArray(v); v = v[0]) {
    if (shape.length === maxRank) {
      throw new TensorCodecError(
        'bad_shape',
        `${input} nests lists more than ${maxRank} deep; the model takes ${JSON.stringify(declared)}`,
      );
    }
    shape.push(v.length);
  }
  // Numbers are gathered in a plain list (no bigger than the parsed request) until the shape is known good.
  const values: number[] = [];
  const walk = (v: unknown, depth: number, at: string): void => {
    if (depth < shape.length) {
      if (!Array.isArray(v) || v.length !== shape[depth]) {
        throw new TensorCodecError(
          'bad_shape',
          `${input}${at} is ${Array.isArray(v) ? `a list of ${v.length}` : quoted(v)}; its first row makes the shape ${JSON.stringify(shape)}, so it must be a list of ${shape[depth]}`,
        );
      }
      v.forEach((x, i) => walk(x, depth + 1, `${at}[${i}]`));
      return;
    }
    if (v === null)
      throw new TensorCodecError('not_finite', `${input}${at} is null (JSON has no NaN); inputs must be finite`);
    if (typeof v !== 'number')
      throw new TensorCodecError(
        Array.isArray(v) ? 'bad_shape' : 'bad_dtype',
        `${input}${at} is ${quoted(v)}; send numbers in lists of the shape ${JSON.stringify(shape)}`,
      );
    // Stored as float32 it would be Infinity, a value the caller never sent: name the one they did.
    if (!Number.isFinite(Math.fround(v)))
      throw new TensorCodecError(
        'not_finite',
        `${input}${at} is ${v}, outside the float32 range (magnitude up to 3.4028234663852886e+38)`,
      );
    values.push(v);
  };
  walk(value, 0, '');
  if (withoutLeadingOnes(shape).join() !== withoutLeadingOnes(declared).join()) {
    throw new TensorCodecError(
      'bad_shape',
      `${input} has shape ${JSON.stringify(shape)}; the model takes ${JSON.stringify(declared)}`,
    );
  }
  return { name, shape, data: Float32Array.from(values) };
}

/** The inverse of tensorFromJson: the data as lists nested by the shape (a number for shape []). */
export function tensorToJson(t: NamedTensor): unknown {
  const build = (depth: number, start: number): unknown => {
    if (depth === t.shape.length) return t.data[start];
    const stride = t.shape.slice(depth + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: t.shape[depth]! }, (_, i) => build(depth + 1, start + i * stride));
  };
  return build(0, 0);
}
