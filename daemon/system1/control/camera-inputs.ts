import type { PolicyInputs } from '../policy-runner.ts';
import { FrameSlot } from '../vision/frame-slot.ts';
import { frameToInput } from '../vision/frame-tensor.ts';
import type { ImageSlot } from './loop-plan.ts';

/** Reads of a frame a write overlapped, and the sleeps (NAP_MS each) between them while the write goes on: a few ms. */
const READ_TRIES = 3;
const NAPS = 13;
const NAP_MS = 0.05;

/**
 * A loop thread's cameras: each frame slot (written by the daemon's FrameFeed) read into its image input only when a
 * new frame was written, once per frame, not per tick; and which inputs are unchanged since the policy last ran here,
 * so the runner leaves them as it holds them, normalized. A frame being written when a tick looks is not waited for:
 * the input keeps the frame it holds, with that frame's time, and the new one is read next tick.
 */
export class CameraInputs {
  readonly #images: ImageSlot[];
  readonly #slots: FrameSlot[];
  /** Per camera: the slot's write count last read into its input. */
  readonly #read: number[] = [];
  /** Per camera: the time of the frame its input holds (NaN: none yet). */
  readonly #times: number[] = [];
  /** Per camera: whether a write overlapped the last read, so the input may mix two frames. */
  readonly #torn: boolean[] = [];
  /** Per camera: the write count the last run of the policy took. */
  readonly #run: number[] = [];
  readonly #unchanged = new Set<string>();
  /** Never notified: Atomics.wait on it is a sleep. */
  readonly #nap = new Int32Array(new SharedArrayBuffer(4));

  constructor(images: ImageSlot[], buffers: ArrayBufferLike[]) {
    this.#images = images;
    this.#slots = images.map((image) => new FrameSlot(image.shape, buffers[image.slot]));
    for (const image of images) {
      this.#times[image.slot] = Number.NaN;
      this.#torn[image.slot] = false;
    }
  }

  /**
   * Reads each new frame into `inputs` and marks a camera whose frame is older than its limit (or missing) in
   * `staleSeen`, with its age in `ages` (per topic, as the board's slices are). An input a write left torn (half one
   * frame, half the next) is stale for this tick, and read again the next.
   */
  gather(inputs: PolicyInputs, now: number, staleSeen: boolean[], ages: number[]): void {
    // Indexed, not for-of: an array iterator a tick is garbage until the loop's code is fully optimized.
    const images = this.#images;
    for (let k = 0; k < images.length; k++) {
      const image = images[k]!;
      const slot = this.#slots[image.slot]!;
      if (slot.writes() !== this.#read[image.slot] && !slot.writing()) this.#readFrame(image, slot, inputs);
      const t = this.#times[image.slot]!;
      if (this.#torn[image.slot]) staleSeen[image.topicIndex] = true;
      const age = now - t;
      if (Number.isNaN(t) || age > image.maxAgeMs) staleSeen[image.topicIndex] = true;
      ages[image.topicIndex] = Number.isNaN(t) ? Number.NaN : Math.max(age, ages[image.topicIndex] ?? 0);
    }
  }

  /**
   * Reads the slot's frame into its input. A write that began during the read is a copy (a thread's memcpy, or the
   * daemon's pwrites): the read waits a little for it and takes the newer frame, and counts the input torn only if
   * the write is not done by then.
   */
  #readFrame(image: ImageSlot, slot: FrameSlot, inputs: PolicyInputs): void {
    const out = inputs[image.input]!;
    for (let tries = 0; tries < READ_TRIES; tries++) {
      const writes = slot.writes();
      const t = slot.read((pixels, order) => frameToInput(pixels, order, image.image, out));
      if (t !== undefined) {
        this.#read[image.slot] = writes;
        this.#times[image.slot] = t;
        this.#torn[image.slot] = false;
        return;
      }
      for (let naps = 0; naps < NAPS && slot.writing(); naps++) Atomics.wait(this.#nap, 0, 0, NAP_MS);
    }
    this.#torn[image.slot] = true;
  }

  /** The image inputs whose frame has not changed since the last run (ran() marks a run). */
  unchanged(): ReadonlySet<string> {
    const unchanged = this.#unchanged;
    unchanged.clear();
    for (const image of this.#images) if (this.#read[image.slot] === this.#run[image.slot]) unchanged.add(image.input);
    return unchanged;
  }

  /** The policy ran on the frames read so far. */
  ran(): void {
    for (const image of this.#images) this.#run[image.slot] = this.#read[image.slot]!;
  }
}
