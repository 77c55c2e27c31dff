import { errorText } from '../util/index.ts';
import type { Frame } from './vision/frame.ts';
import type { FrameDecoder } from './vision/frame-decoder.ts';
import { ImageError } from './vision/image-error.ts';
import type { ImageInputSpec } from './vision/image-input.ts';
import type { TensorImage } from '../contract/index.ts';

/**
 * An encoded frame of an `ai/inference/vla` query as its image input takes it: checked, decoded and resized in the
 * input's decode process (`decoder`, FrameDecoder) under the input's own settings (resize, max_pixels,
 * decode_timeout_ms), as a camera topic feeding that input is. Throws ImageError, its message naming the input.
 */
export async function decodeQueryFrame(
  name: string,
  input: ImageInputSpec,
  image: TensorImage,
  data: Uint8Array,
  decoder: FrameDecoder,
): Promise<Frame> {
  const { width, height, channels, dtype, settings } = input;
  const message = 'format' in image ? { format: image.format, data } : { ...image, data };
  let frame: Frame;
  try {
    frame = await decoder.decode(message, {
      width,
      height,
      channels,
      resize: settings.resize,
      maxPixels: settings.max_pixels,
    });
  } catch (error) {
    // The decode reads only the caller's bytes: what libvips throws that no check foresaw is still their frame's fault.
    const code = error instanceof ImageError ? error.code : 'decode_failed';
    throw new ImageError(code, `input "${name}": ${errorText(error)}`);
  }
  if (frame.order === 'depth16' && dtype === 'uint8')
    throw new ImageError('bad_encoding', `input "${name}" is uint8: a 16-bit depth frame does not fit it`);
  return frame;
}
