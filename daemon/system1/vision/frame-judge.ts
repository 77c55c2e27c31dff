import { compressedFormat, compressedSize } from './compressed-format.ts';
import type { Frame } from './frame.ts';
import { ImageError } from './image-error.ts';
import {
  passThrough,
  rawLayout,
  type CompressedImage,
  type FrameTarget,
  type RawHeader,
  type RawImage,
} from './raw-pixels.ts';

/**
 * The most bytes a compressed frame may carry for each of its pixels, beside METADATA_BYTES: a PNG of 16-bit RGBA
 * stored without compression takes 8; a camera's JPEG takes well under 1.
 */
const MAX_BYTES_PER_PIXEL = 8;
/** What a compressed frame may carry beside its pixels: EXIF, an ICC profile, comments. */
const METADATA_BYTES = 1 << 20;

/** A frame's fields but its bytes: what travels to a decode process beside them. */
export type FrameHeader = RawHeader | Omit<CompressedImage, 'data'>;

/** What is to be done with a frame: nothing (its pixels are the input as they are), or a decode of its bytes. */
export type FramePlan = { frame: Frame } | { header: FrameHeader; data: Uint8Array };

/**
 * A frame judged from its header alone, before a byte of its data is read or copied: its encoding or format (a
 * compressed frame's signature), its size against max_pixels and resize, a raw frame's step and length, and a
 * compressed frame's length against what its size can take. Costs the same for a frame of any size, so it runs
 * where the frame arrives. Throws ImageError.
 */
export function judgeFrame(message: RawImage | CompressedImage, target: FrameTarget): FramePlan {
  if ('encoding' in message) {
    const frame = passThrough(message, target);
    if (frame) return { frame };
    const { data, ...header } = message;
    depthTaken(message.encoding, rawLayout(message, target.maxPixels).encoding.order, target);
    sizeTaken(message.width, message.height, target);
    return { header, data };
  }
  const { data, format } = message;
  const declared = compressedFormat(format, data);
  const { width, height } = compressedSize(declared, data);
  const pixels = width * height;
  if (pixels > target.maxPixels)
    throw new ImageError(
      'too_large',
      `a frame of ${width} x ${height} (${pixels} pixels) is over max_pixels (${target.maxPixels})`,
    );
  const most = pixels * MAX_BYTES_PER_PIXEL + METADATA_BYTES;
  if (data.byteLength > most)
    throw new ImageError(
      'too_large',
      `a ${declared} frame of ${width} x ${height} carries ${data.byteLength} bytes, more than such a frame takes (${most})`,
    );
  sizeTaken(width, height, target);
  return { header: { format }, data };
}

/** With resize: none, a frame of another size than the input's is refused. */
export function sizeTaken(width: number, height: number, target: FrameTarget): void {
  if (target.resize === 'none' && (width !== target.width || height !== target.height))
    throw new ImageError(
      'bad_size',
      `a frame of ${width} x ${height}; the input takes ${target.width} x ${target.height} (resize: none)`,
    );
}

/** A depth frame feeds a 1-channel input only. */
export function depthTaken(encoding: string, order: Frame['order'], target: FrameTarget): void {
  if (order === 'depth16' && target.channels !== 1)
    throw new ImageError('bad_encoding', `${encoding} is depth: it feeds a 1-channel input, not a 3-channel one`);
}
