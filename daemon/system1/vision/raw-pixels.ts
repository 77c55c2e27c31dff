import type { Frame } from './frame.ts';
import { ImageError } from './image-error.ts';

/** The fields of sensor_msgs/msg/Image that a frame is made of. */
export interface RawImage {
  width: number;
  height: number;
  encoding: string;
  is_bigendian?: number | boolean;
  step: number;
  data: Uint8Array;
}

/** sensor_msgs/msg/CompressedImage: `format` names jpeg or png (image_transport: "bgr8; jpeg compressed bgr8"). */
export interface CompressedImage {
  format: string;
  data: Uint8Array;
}

/** What a frame is decoded to: the model input's size and channels (16-bit for a depth input fed 16UC1). */
export interface FrameTarget {
  width: number;
  height: number;
  channels: 1 | 3;
  /** fill: resize to width x height; none: a frame of another size is refused. */
  resize: 'fill' | 'none';
  /** A frame of more pixels is refused before it is decoded. */
  maxPixels: number;
}

interface RawEncoding {
  channels: 1 | 3 | 4;
  bytes: 1 | 2;
  order: Frame['order'];
}

/** sensor_msgs/image_encodings names this daemon decodes. */
const RAW_ENCODINGS: Record<string, RawEncoding> = {
  rgb8: { channels: 3, bytes: 1, order: 'rgb' },
  bgr8: { channels: 3, bytes: 1, order: 'bgr' },
  rgba8: { channels: 4, bytes: 1, order: 'rgb' },
  bgra8: { channels: 4, bytes: 1, order: 'bgr' },
  mono8: { channels: 1, bytes: 1, order: 'gray' },
  '8UC1': { channels: 1, bytes: 1, order: 'gray' },
  '16UC1': { channels: 1, bytes: 2, order: 'depth16' },
  mono16: { channels: 1, bytes: 2, order: 'depth16' },
};

export const RAW_ENCODING_NAMES = Object.keys(RAW_ENCODINGS);

/** A raw image's fields but its pixels: what is judged of it before a byte of them is copied. */
export type RawHeader = Omit<RawImage, 'data'>;

/**
 * Checks a raw image against its encoding and size (its fields and its data's length alone, nothing read or copied):
 * its encoding and the bytes of a packed row.
 */
export function rawLayout(image: RawHeader & { data: { length: number } }, maxPixels: number): RawLayout {
  const { width, height, step, data } = image;
  const encoding = RAW_ENCODINGS[image.encoding];
  if (!encoding)
    throw new ImageError(
      'bad_encoding',
      `encoding ${JSON.stringify(String(image.encoding).slice(0, 64))} is not decoded (taken: ${RAW_ENCODING_NAMES.join(', ')}; or send sensor_msgs/msg/CompressedImage with jpeg or png)`,
    );
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1)
    throw new ImageError('bad_size', `a frame of ${width} x ${height} pixels has nothing in it`);
  if (width * height > maxPixels)
    throw new ImageError(
      'too_large',
      `a frame of ${width} x ${height} (${width * height} pixels) is over max_pixels (${maxPixels})`,
    );
  const row = width * encoding.channels * encoding.bytes;
  if (step < row)
    throw new ImageError(
      'bad_size',
      `step ${step} is shorter than a row of ${width} ${image.encoding} pixels (${row} bytes)`,
    );
  if (data.length !== step * height)
    throw new ImageError(
      'bad_size',
      `data holds ${data.length} bytes; height x step is ${height} x ${step} = ${step * height}`,
    );
  return { encoding, row };
}

export interface RawLayout {
  encoding: RawEncoding;
  /** Bytes of a row without its padding. */
  row: number;
}

/** Checks a raw image against its encoding and size and returns its pixels with rows packed (a copy where needed). */
export function rawPixels(
  image: RawImage,
  maxPixels: number,
): { encoding: RawEncoding; pixels: Uint8Array | Uint16Array } {
  const { encoding, row } = rawLayout(image, maxPixels);
  const { width, height, step, data } = image;
  const packed = step === row ? data : packRows(data, row, step, height);
  if (encoding.bytes === 1) return { encoding, pixels: packed };
  const words = asWords(packed, image.is_bigendian);
  if (words) return { encoding, pixels: words };
  // A Uint16Array needs an even offset; the CDR reader's views can start anywhere.
  const copy = new Uint16Array(width * height);
  const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
  const big = isBig(image.is_bigendian);
  for (let i = 0; i < copy.length; i++) copy[i] = view.getUint16(i * 2, !big);
  return { encoding, pixels: copy };
}

/** Rows below this many bytes are copied byte by byte: a subarray and a set per row cost far more than the row. */
const SHORT_ROW = 64;

/** `data`'s rows of `row` bytes, each `step` apart, packed. */
function packRows(data: Uint8Array, row: number, step: number, height: number): Uint8Array {
  const packed = new Uint8Array(row * height);
  if (row >= SHORT_ROW) {
    for (let y = 0; y < height; y++) packed.set(data.subarray(y * step, y * step + row), y * row);
    return packed;
  }
  for (let y = 0, from = 0, to = 0; y < height; y++, from += step - row)
    for (let x = 0; x < row; x++) packed[to++] = data[from++]!;
  return packed;
}

const isBig = (flag: RawImage['is_bigendian']) => flag === true || flag === 1;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** 16-bit pixels as they lie, where they can be viewed so: little-endian like this machine, at an even offset. */
function asWords(bytes: Uint8Array, bigEndian: RawImage['is_bigendian']): Uint16Array | undefined {
  if (isBig(bigEndian) || !LITTLE_ENDIAN || bytes.byteOffset % 2 !== 0) return undefined;
  return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
}

/**
 * A raw frame that is already what `target` takes (its size, 1 or 3 channels, no alpha, rows packed, 16-bit pixels
 * in this machine's order at an even offset): a view of its pixels as they are, nothing copied. Undefined where a
 * decode, resize or copy is needed: that is the decode process's work. Throws what rawLayout throws.
 */
export function passThrough(message: RawImage, target: FrameTarget): Frame | undefined {
  const { encoding, row } = rawLayout(message, target.maxPixels);
  const { width, height, step, data } = message;
  if (encoding.channels === 4 || encoding.channels !== target.channels || step !== row) return undefined;
  if (width !== target.width || height !== target.height) return undefined;
  if (encoding.order === 'depth16' && target.channels !== 1) return undefined;
  const pixels = encoding.bytes === 1 ? data : asWords(data, message.is_bigendian);
  if (!pixels) return undefined;
  return { width, height, channels: target.channels, order: encoding.order, data: pixels };
}
