import type { Frame } from './frame.ts';
import type { ImageInputSpec } from './image-input.ts';

/**
 * Puts a frame of the input's size into the input's tensor, as LeRobot feeds a camera to a policy: channels
 * first or last as the model takes them, RGB order (a bgr8 frame is swapped here), float32 in [0, 1] (8-bit
 * divided by 255, 16UC1 depth times depth_scale), or uint8 as it is. Normalization comes after, in the runner.
 * `pixels` may be a view of shared memory that a writer changes: the caller checks it did not (frame-slot.ts).
 */
export function frameToInput(
  pixels: Uint8Array | Uint16Array,
  order: Frame['order'],
  spec: ImageInputSpec,
  out: Float32Array | Uint8Array,
): void {
  const { height, width, channels, layout } = spec;
  const plane = height * width;
  const scale = order === 'depth16' ? spec.settings.depth_scale : out instanceof Float32Array ? 1 / 255 : 1;
  if (channels === 1) {
    for (let i = 0; i < plane; i++) out[i] = pixels[i]! * scale;
    return;
  }
  const [r, g, b] = order === 'bgr' ? [2, 1, 0] : [0, 1, 2];
  if (layout === 'nchw') {
    for (let i = 0, p = 0; i < plane; i++, p += 3) {
      out[i] = pixels[p + r]! * scale;
      out[plane + i] = pixels[p + g]! * scale;
      out[2 * plane + i] = pixels[p + b]! * scale;
    }
  } else {
    for (let p = 0; p < plane * 3; p += 3) {
      out[p] = pixels[p + r]! * scale;
      out[p + 1] = pixels[p + g]! * scale;
      out[p + 2] = pixels[p + b]! * scale;
    }
  }
}
