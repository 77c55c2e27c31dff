import sharp from 'sharp';
import { MAX_VIDEO_PIXELS } from './dataset-limits.ts';
import { DatasetError } from './dataset-types.ts';
import { compressedFormat } from '../../../daemon/system1/index.ts';
import { ImageError, rawPixels, type RawImage } from '../../../daemon/system1/index.ts';
import { errorText } from '../../../daemon/util/index.ts';

/** The layouts raw frames go to ffmpeg in, by its rawvideo pix_fmt names. */
export type PixelFormat = 'rgb24' | 'bgr24' | 'rgba' | 'bgra' | 'gray';

export const PIXEL_BYTES: Record<PixelFormat, number> = { rgb24: 3, bgr24: 3, rgba: 4, bgra: 4, gray: 1 };

/** One camera frame, rows packed (no padding), ready for ffmpeg's rawvideo input. */
export interface RawFrame {
  width: number;
  height: number;
  pixFmt: PixelFormat;
  data: Uint8Array;
  /** The message it came from, for errors: `/camera/image_raw at 2025-01-01T00:00:00.000Z (1735689600000000000 ns)`. */
  where: string;
}

/** The message types a camera feature is made of. */
export const IMAGE_TYPES: readonly string[] = ['sensor_msgs/msg/Image', 'sensor_msgs/msg/CompressedImage'];

/** sensor_msgs/image_encodings names taken, and the ffmpeg layout each is. */
const RAW_FORMATS: Record<string, PixelFormat> = {
  rgb8: 'rgb24',
  bgr8: 'bgr24',
  rgba8: 'rgba',
  bgra8: 'bgra',
  mono8: 'gray',
  '8UC1': 'gray',
};
const DEPTH = new Set(['16UC1', 'mono16', '32FC1']);

type ImageMessage = RawImage;

interface CompressedImageMessage {
  format: string;
  data: Uint8Array;
}

/**
 * A decoded sensor_msgs/msg/Image or CompressedImage as a raw frame. A raw image is checked (its encoding, its
 * data against height x step) and passed through in its own layout, its rows packed; a JPEG or PNG is decoded to
 * RGB by sharp (libvips, on libuv's threads), a truncated one refused. Its size is checked first, from its header: a
 * frame larger than MAX_VIDEO_PIXELS is refused before it is decoded. What is wrong names the message (`where`).
 */
export async function decodeCameraFrame(type: string, message: unknown, where: string): Promise<RawFrame> {
  if (type === 'sensor_msgs/msg/Image') return rawFrame(message as ImageMessage, where);
  if (type === 'sensor_msgs/msg/CompressedImage') return compressedFrame(message as CompressedImageMessage, where);
  throw new DatasetError(`${where}: a ${type} is not an image (${IMAGE_TYPES.join(' or ')})`);
}

/**
 * A camera message's frame size, from its fields or its JPEG or PNG header, nothing decoded; larger than
 * MAX_VIDEO_PIXELS is refused.
 */
export async function cameraFrameSize(
  type: string,
  message: unknown,
  where: string,
): Promise<{ width: number; height: number }> {
  if (type === 'sensor_msgs/msg/Image') {
    const { width, height } = message as ImageMessage;
    return checkedSize(width, height, where);
  }
  if (type === 'sensor_msgs/msg/CompressedImage') return compressedSize(message as CompressedImageMessage, where);
  throw new DatasetError(`${where}: a ${type} is not an image (${IMAGE_TYPES.join(' or ')})`);
}

/** `width` x `height`, unless it is more than a video frame may have (what `lerobot inspect` would refuse). */
function checkedSize(width: number, height: number, where: string): { width: number; height: number } {
  if (width * height > MAX_VIDEO_PIXELS)
    throw new DatasetError(
      `${where}: a ${width}x${height} image, more than a video frame may have (${MAX_VIDEO_PIXELS} pixels, 8K, as lerobot inspect reads): ` +
        'not decoded, nothing written; export a camera topic of smaller images',
    );
  return { width, height };
}

function rawFrame(image: ImageMessage, where: string): RawFrame {
  const { width, height, encoding } = image;
  checkedSize(width, height, where);
  const pixFmt = RAW_FORMATS[encoding];
  if (!pixFmt) {
    const depth = DEPTH.has(encoding)
      ? ' (a depth image: LeRobot encodes depth maps as 12-bit HEVC, which the export does not write)'
      : '';
    throw new DatasetError(
      `${where}: encoding ${JSON.stringify(encoding.slice(0, 64))} is not exported${depth}; taken: ${Object.keys(RAW_FORMATS).join(', ')}, or sensor_msgs/msg/CompressedImage with jpeg or png`,
    );
  }
  // The same checks and row packing as a policy's camera input (vision/image-decode.ts), in the export's words.
  try {
    const { pixels } = rawPixels(image, Number.POSITIVE_INFINITY);
    return { width, height, pixFmt, data: pixels as Uint8Array, where };
  } catch (error) {
    if (error instanceof ImageError)
      throw new DatasetError(`${where}: ${error.message} (a ${width} x ${height} ${encoding} image)`);
    throw error;
  }
}

/** Only the format the message declares, and only JPEG or PNG: the same check as a policy's camera input. */
function declaredFormat(image: CompressedImageMessage, where: string): string {
  try {
    return compressedFormat(image.format, image.data);
  } catch (error) {
    if (error instanceof ImageError) throw new DatasetError(`${where}: ${error.message} (not exported)`);
    throw error;
  }
}

/** A JPEG or PNG's declared format, and its size from its header. */
async function compressedSize(
  image: CompressedImageMessage,
  where: string,
): Promise<{ width: number; height: number; format: string }> {
  const format = declaredFormat(image, where);
  let width: number | undefined;
  let height: number | undefined;
  try {
    ({ width, height } = await sharp(image.data).metadata());
  } catch (error) {
    throw new DatasetError(
      `${where}: the ${format} image (${image.data.byteLength} bytes) has no header sharp can read: ${errorText(error)}`,
    );
  }
  if (!width || !height) throw new DatasetError(`${where}: the ${format} image's header gives no size`);
  return { ...checkedSize(width, height, where), format };
}

async function compressedFrame(image: CompressedImageMessage, where: string): Promise<RawFrame> {
  // Its header first: a 187 kB PNG of 8000 x 8000 decodes to 192 MB, and its video took 2.3 GB to encode.
  const { format } = await compressedSize(image, where);
  try {
    // failOn warning: a JPEG cut short or corrupt decodes to grey otherwise, and would be encoded as if whole. The
    // pixel limit again, on what libvips decodes: its header was read above, and this is what decoding obeys.
    const { data, info } = await sharp(image.data, { failOn: 'warning', limitInputPixels: MAX_VIDEO_PIXELS })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    return {
      width: info.width,
      height: info.height,
      pixFmt: 'rgb24',
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      where,
    };
  } catch (error) {
    throw new DatasetError(
      `${where}: the ${format} image (${image.data.byteLength} bytes) does not decode: ${errorText(error)}`,
    );
  }
}
