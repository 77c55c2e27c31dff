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

/** Checks a raw image against its encoding and size and returns its pixels with rows packed. */
export function rawPixels(
  image: RawImage,
  maxPixels: number,
): { encoding: RawEncoding; pixels: Uint8Array | Uint16Array } {
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
  let packed = data;
  if (step !== row) {
    packed = new Uint8Array(row * height);
    for (let y = 0; y < height; y++) packed.set(data.subarray(y * step, y * step + row), y * row);
  }
  if (encoding.bytes === 1) return { encoding, pixels: packed };
  const big = image.is_bigendian === true || image.is_bigendian === 1;
  // A Uint16Array needs an even offset; the CDR reader's views can start anywhere.
  const words = new Uint16Array(width * height);
  const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
  for (let i = 0; i < words.length; i++) words[i] = view.getUint16(i * 2, !big);
  return { encoding, pixels: words };
}

/**
 * A raw frame that is already what `target` takes (its size, 1 or 3 channels, no alpha): its pixels as they are,
 * with no libvips work to do. Undefined where a decode or resize is needed. Throws what rawPixels throws.
 */
export function passThrough(message: RawImage | CompressedImage, target: FrameTarget): Frame | undefined {
  if (!('encoding' in message)) return undefined;
  const { encoding, pixels } = rawPixels(message, target.maxPixels);
  const { width, height } = message;
  if (encoding.channels === 4 || encoding.channels !== target.channels) return undefined;
  if (width !== target.width || height !== target.height) return undefined;
  if (encoding.order === 'depth16' && target.channels !== 1) return undefined;
  return { width, height, channels: target.channels, order: encoding.order, data: pixels };
}
