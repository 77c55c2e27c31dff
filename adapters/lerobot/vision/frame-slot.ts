import { frameBytes, type Frame } from './frame.ts';

/**
 * The latest frame of one camera, in shared memory: written by the main thread once per frame (after it was
 * decoded and resized off the event loop), read by a loop's thread straight from the slot into its input
 * tensor, only when a new frame has come. Nothing is posted per tick and nothing copied per tick.
 * A seqlock as the observation board's: the writer makes the sequence odd, writes, makes it even; the reader
 * converts and checks the sequence did not move, else converts again. Frames of 640 x 480 are written in
 * 0.1 ms, so a reader retries rarely.
 */
const INTS = 4; // seq, writes, order, reserved
const ORDERS: Frame['order'][] = ['rgb', 'bgr', 'gray', 'depth16'];
const SPINS = 100;

export interface FrameSlotShape {
  width: number;
  height: number;
  channels: 1 | 3;
  /** 16-bit pixels: a 1-channel input's slot, which takes mono8 and 16UC1 depth alike. */
  depth16: boolean;
}

export class FrameSlot {
  readonly buffer: SharedArrayBuffer;
  readonly shape: FrameSlotShape;
  readonly #ints: Int32Array;
  readonly #time: Float64Array;
  readonly #pixels: Uint8Array | Uint16Array;
  readonly #nap = new Int32Array(new SharedArrayBuffer(4));

  constructor(shape: FrameSlotShape, buffer?: SharedArrayBuffer) {
    this.shape = shape;
    const bytes = frameBytes({ ...shape, order: shape.depth16 ? 'depth16' : 'rgb' });
    const header = INTS * 4 + 8;
    this.buffer = buffer ?? new SharedArrayBuffer(header + bytes);
    if (this.buffer.byteLength !== header + bytes) throw new RangeError('frame slot buffer does not match its shape');
    this.#ints = new Int32Array(this.buffer, 0, INTS);
    this.#time = new Float64Array(this.buffer, INTS * 4, 1);
    this.#pixels = shape.depth16
      ? new Uint16Array(this.buffer, header, bytes / 2)
      : new Uint8Array(this.buffer, header, bytes);
    if (!buffer) this.#time[0] = NaN;
  }

  /** Writes a frame of the slot's shape, stamped with `timeMs` (monotonic ms, loop-clock.ts). */
  write(frame: Frame, timeMs: number): void {
    const { width, height, channels, depth16 } = this.shape;
    if (frame.width !== width || frame.height !== height || frame.channels !== channels)
      throw new RangeError(
        `a ${frame.width} x ${frame.height} x ${frame.channels} frame in a ${width} x ${height} x ${channels} slot`,
      );
    if (frame.order === 'depth16' && !depth16) throw new RangeError('a 16-bit frame in a slot of 8-bit pixels');
    const ints = this.#ints;
    Atomics.add(ints, 0, 1);
    this.#pixels.set(frame.data);
    this.#time[0] = timeMs;
    Atomics.store(ints, 2, ORDERS.indexOf(frame.order));
    Atomics.add(ints, 0, 1);
    Atomics.add(ints, 1, 1);
  }

  /** Frames written so far: a reader converts again only when this moved. */
  writes(): number {
    return Atomics.load(this.#ints, 1);
  }

  /**
   * Hands the slot's pixels to `use` (which must only read them, e.g. into a tensor) and returns the frame's time
   * (NaN if none was written); `use` runs again if a write overlapped it.
   */
  read(use: (pixels: Uint8Array | Uint16Array, order: Frame['order']) => void): number {
    const ints = this.#ints;
    for (let tries = 1; ; tries++) {
      const before = Atomics.load(ints, 0);
      if ((before & 1) === 0) {
        const time = this.#time[0]!;
        if (!Number.isNaN(time)) use(this.#pixels, ORDERS[Atomics.load(ints, 2)]!);
        if (Atomics.load(ints, 0) === before) return time;
      }
      if (tries >= SPINS) Atomics.wait(this.#nap, 0, 0, 0.05);
    }
  }

  /** The frame's time without reading it (NaN if none). */
  time(): number {
    return this.#time[0]!;
  }
}
