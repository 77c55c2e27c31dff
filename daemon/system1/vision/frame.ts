/**
 * A decoded camera frame, rows packed (no padding), channels last: 8-bit RGB, BGR or grey, or 16-bit depth.
 * What a frame slot holds and what becomes a model input.
 */
export interface Frame {
  width: number;
  height: number;
  channels: 1 | 3;
  /** Channel order of 3-channel frames (bgr8 is kept as it came and swapped where it becomes a tensor). */
  order: 'rgb' | 'bgr' | 'gray' | 'depth16';
  data: Uint8Array | Uint16Array;
}

export const frameBytes = (f: Pick<Frame, 'width' | 'height' | 'channels' | 'order'>): number =>
  f.width * f.height * f.channels * (f.order === 'depth16' ? 2 : 1);
