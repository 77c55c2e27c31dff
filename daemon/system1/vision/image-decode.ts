import sharp from 'sharp';
import { errorText } from '../../util/index.ts';
import { compressedFormat } from './compressed-format.ts';
import type { Frame } from './frame.ts';
import { ImageError } from './image-error.ts';
import { depthTaken, judgeFrame, sizeTaken } from './frame-judge.ts';
import { checkJpegScans } from './jpeg-markers.ts';
import { rawPixels, type CompressedImage, type FrameTarget, type RawImage } from './raw-pixels.ts';

export { ImageError, type ImageErrorCode } from './image-error.ts';
export { RAW_ENCODING_NAMES, rawPixels, type CompressedImage, type FrameTarget, type RawImage } from './raw-pixels.ts';

// Frames are decoded one at a time per camera, small, and never again: libvips' cache only holds memory, and
// one thread per frame leaves the other cores to the loop and the daemon.
sharp.cache(false);
sharp.concurrency(1);
// Only the loaders a camera needs: no SVG, GIF, WebP, TIFF, HEIF, PDF or other libvips loader is reachable through
// this process's sharp, whatever bytes arrive (compressedFormat refuses them first, with words).
sharp.block({ operation: ['VipsForeignLoad'] });
sharp.unblock({ operation: ['VipsForeignLoadJpegBuffer', 'VipsForeignLoadPngBuffer'] });

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

async function decodeRaw(image: RawImage, target: FrameTarget): Promise<Frame> {
  const { encoding, pixels } = rawPixels(image, target.maxPixels);
  const { width, height } = image;
  const depth = encoding.order === 'depth16';
  depthTaken(image.encoding, encoding.order, target);
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
  const format = compressedFormat(image.format, image.data);
  // Judged from the header as where the frame arrived (a caller may not have), then every scan a JPEG promises.
  judgeFrame(image, target);
  if (format === 'jpeg') checkJpegScans(image.data);
  let meta: sharp.Metadata;
  try {
    meta = await sharp(image.data, { limitInputPixels: target.maxPixels }).metadata();
  } catch (error) {
    throw new ImageError('decode_failed', `${format} frame does not decode: ${errorText(error)}`);
  }
  // failOn warning: libjpeg's "premature end of data segment" and "bad Huffman code", and a PNG's bad CRC, are
  // warnings it decodes through (to uniform grey where data is missing); a frame with short or corrupt data is refused.
  let pipeline = sharp(image.data, { limitInputPixels: target.maxPixels, failOn: 'warning' });
  if (meta.hasAlpha) pipeline = pipeline.removeAlpha();
  pipeline = pipeline.toColourspace(target.channels === 1 ? 'b-w' : 'srgb');
  return run(pipeline, target, target.channels === 1 ? 'gray' : 'rgb', false);
}

async function run(pipeline: sharp.Sharp, target: FrameTarget, order: Frame['order'], depth: boolean): Promise<Frame> {
  let out: { data: Buffer; info: sharp.OutputInfo };
  try {
    out = await pipeline
      .resize(target.width, target.height, { fit: 'fill', kernel: 'linear' })
      .raw(depth ? { depth: 'ushort' } : {})
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw new ImageError('decode_failed', `frame does not decode: ${errorText(error)}`);
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
