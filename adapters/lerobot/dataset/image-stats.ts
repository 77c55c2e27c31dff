import type { RawFrame } from './camera-frames.ts';
import type { FeatureStats } from './dataset-types.ts';

/**
 * The frames of an episode LeRobot computes image statistics from (compute_stats.sample_indices): all of an
 * episode under 100 frames, else about length^0.75 of them (at most 10,000), evenly spread, first and last included.
 */
export function sampleIndices(length: number): number[] {
  const min = Math.min(100, length);
  const count = Math.max(min, Math.min(Math.trunc(length ** 0.75), 10_000));
  if (count === 1) return [0];
  // numpy's round is half to even: linspace's values at .5 exactly go to the even neighbour.
  return Array.from({ length: count }, (_, i) => roundHalfEven(((length - 1) * i) / (count - 1)));
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Where R, G and B are in a pixel of each layout, and how many bytes a pixel has. */
const CHANNELS: Record<RawFrame['pixFmt'], { at: [number, number, number]; bytes: number }> = {
  rgb24: { at: [0, 1, 2], bytes: 3 },
  bgr24: { at: [2, 1, 0], bytes: 3 },
  rgba: { at: [0, 1, 2], bytes: 4 },
  bgra: { at: [2, 1, 0], bytes: 4 },
  gray: { at: [0, 0, 0], bytes: 1 },
};

/**
 * An image feature's statistics as LeRobot's compute_episode_stats makes them: per RGB channel, over every pixel
 * of the sampled frames (each downsampled as auto_downsample_height_width does: every k-th row and column, k the
 * longer side / 150, when that side is 300 or more), in [0, 1]; `count` is the number of frames. Population std.
 */
export class ImageStats {
  #frames = 0;
  #pixels = 0;
  #min = [Infinity, Infinity, Infinity];
  #max = [-Infinity, -Infinity, -Infinity];
  #sum = [0, 0, 0];
  #sumSq = [0, 0, 0];

  add(frame: RawFrame): void {
    const { width, height, data } = frame;
    const { at, bytes } = CHANNELS[frame.pixFmt];
    const step = Math.max(width, height) < 300 ? 1 : Math.trunc((width > height ? width : height) / 150);
    const [min, max, sum, sumSq] = [this.#min, this.#max, this.#sum, this.#sumSq];
    for (let y = 0; y < height; y += step) {
      for (let x = 0; x < width; x += step) {
        const p = (y * width + x) * bytes;
        for (let c = 0; c < 3; c++) {
          const v = data[p + at[c]!]!;
          if (v < min[c]!) min[c] = v;
          if (v > max[c]!) max[c] = v;
          sum[c]! += v;
          sumSq[c]! += v * v;
        }
        this.#pixels++;
      }
    }
    this.#frames++;
  }

  result(): FeatureStats {
    const n = this.#pixels;
    const mean = this.#sum.map((s) => s / n);
    return {
      min: this.#min.map((v) => v / 255),
      max: this.#max.map((v) => v / 255),
      mean: mean.map((m) => m / 255),
      // Rounding can take a zero variance a hair below 0.
      std: this.#sumSq.map((s, c) => Math.sqrt(Math.max(0, s / n - mean[c]! ** 2)) / 255),
      count: [this.#frames],
    };
  }
}
