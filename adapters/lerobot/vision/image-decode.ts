import sharp from 'sharp';
import type { Frame } from './frame.ts';

// Frames are decoded one at a time per camera, small, and never again: libvips' cache only holds memory, and
// one thread per frame leaves the other cores to the loop and the daemon.
sharp.cache(false);
sharp.concurrency(1);

export type ImageErrorCode = 'bad_encoding' | 'bad_size' | 'too_large' | 'decode_failed';

/** A frame that cannot become a model input: the message says what was sent and what is taken. */
export class ImageError extends Error {
  override name = 'ImageError';
  readonly code: ImageErrorCode;
  constructor(code: ImageErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

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

const isImage = (m: unknown): m is RawImage =>
  typeof m === 'object' && m !== null && 'encoding' in m && 'step' in m && 'data' in m;
const isCompressed = (m: unknown): m is CompressedImage =>
  typeof m === 'object' && m !== null && 'format' in m && 'data' in m;

/**
 * A decoded sensor_msgs/msg/Image or CompressedImage as a frame of the target's size and channels. The checks
 * come before any decoding: an unknown encoding, data that does not match height x step, a frame of more than
 * maxPixels. Resizing and JPEG or PNG decoding run on libuv's threads (sharp, libvips), not the event loop.
 */
export async function decodeFrame(message: unknown, target: FrameTarget): Promise<Frame> {
  if (isImage(message)) return decodeRaw(message, target);
  if (isCompressed(message)) return decodeCompressed(message, target);
  throw new ImageError('bad_encoding', 'not a sensor_msgs/msg/Image or sensor_msgs/msg/CompressedImage');
}

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

async function decodeRaw(image: RawImage, target: FrameTarget): Promise<Frame> {
  const { encoding, pixels } = rawPixels(image, target.maxPixels);
  const { width, height } = image;
  const depth = encoding.order === 'depth16';
  if (depth && target.channels !== 1)
    throw new ImageError('bad_encoding', `${image.encoding} is depth: it feeds a 1-channel input, not a 3-channel one`);
  sizeTaken(width, height, target);
  const channels = encoding.channels === 4 ? 3 : encoding.channels;
  let input = pixels;
  // libvips resizes an image with alpha premultiplied, which changes the colour of pixels that are not opaque:
  // the alpha a camera sends (rgba8) means nothing, so it goes first, in a pass of its own.
  if (encoding.channels === 4)
    input = await sharp(pixels, { raw: { width, height, channels: 4 } })
      .removeAlpha()
      .raw()
      .toBuffer();
  if (width === target.width && height === target.height && channels === target.channels)
    return { width, height, channels: target.channels, order: encoding.order, data: input };
  let pipeline = sharp(input, { raw: { width, height, channels } });
  if (depth) pipeline = pipeline.pipelineColourspace('grey16').toColourspace('grey16');
  let order = encoding.order;
  if (target.channels === 1 && !depth) {
    // libvips takes 3 bands as RGB: a BGR frame is put in order before it becomes grey.
    if (order === 'bgr')
      pipeline = pipeline.recomb([
        [0, 0, 1],
        [0, 1, 0],
        [1, 0, 0],
      ]);
    pipeline = pipeline.toColourspace('b-w');
    order = 'gray';
  } else if (target.channels === 3 && channels === 1) {
    pipeline = pipeline.toColourspace('srgb');
    order = 'rgb';
  }
  return run(pipeline, target, order, depth);
}

async function decodeCompressed(image: CompressedImage, target: FrameTarget): Promise<Frame> {
  const format = image.format.toLowerCase();
  if (format.includes('compresseddepth'))
    throw new ImageError(
      'bad_encoding',
      `format ${JSON.stringify(image.format.slice(0, 64))} (compressedDepth) is not decoded: send 16UC1 raw`,
    );
  if (!/jpe?g|png/.test(format))
    throw new ImageError(
      'bad_encoding',
      `format ${JSON.stringify(image.format.slice(0, 64))} is not decoded (taken: jpeg, png)`,
    );
  let meta: sharp.Metadata;
  try {
    // The header alone: its size is checked before a pixel is decoded.
    meta = await sharp(image.data, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw new ImageError(
      'decode_failed',
      `${image.format.slice(0, 64)} frame does not decode: ${(error as Error).message}`,
    );
  }
  const { width = 0, height = 0 } = meta;
  if (width * height > target.maxPixels)
    throw new ImageError(
      'too_large',
      `a frame of ${width} x ${height} (${width * height} pixels) is over max_pixels (${target.maxPixels})`,
    );
  sizeTaken(width, height, target);
  let pipeline = sharp(image.data, { limitInputPixels: target.maxPixels, failOn: 'truncated' });
  if (meta.hasAlpha) pipeline = pipeline.removeAlpha();
  pipeline = pipeline.toColourspace(target.channels === 1 ? 'b-w' : 'srgb');
  return run(pipeline, target, target.channels === 1 ? 'gray' : 'rgb', false);
}

function sizeTaken(width: number, height: number, target: FrameTarget): void {
  if (target.resize === 'none' && (width !== target.width || height !== target.height))
    throw new ImageError(
      'bad_size',
      `a frame of ${width} x ${height}; the input takes ${target.width} x ${target.height} (resize: none)`,
    );
}

async function run(pipeline: sharp.Sharp, target: FrameTarget, order: Frame['order'], depth: boolean): Promise<Frame> {
  let out: { data: Buffer; info: sharp.OutputInfo };
  try {
    out = await pipeline
      .resize(target.width, target.height, { fit: 'fill', kernel: 'linear' })
      .raw(depth ? { depth: 'ushort' } : {})
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw new ImageError('decode_failed', `frame does not decode: ${(error as Error).message}`);
  }
  const { data, info } = out;
  if (info.channels !== target.channels)
    throw new ImageError(
      'decode_failed',
      `frame decoded to ${info.channels} channels, the input takes ${target.channels}`,
    );
  const pixels = depth
    ? new Uint16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength))
    : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return { width: info.width, height: info.height, channels: target.channels, order, data: pixels };
}
