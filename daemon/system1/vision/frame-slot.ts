import { frameBytes, type Frame } from './frame.ts';

/**
 * The latest frame of one camera, in shared memory: written once per frame (after it was decoded and resized off the
 * event loop), read by a loop's thread straight from the slot into its input tensor, only when a new frame has come.
 * Nothing is posted per tick and nothing copied per tick. A seqlock as the observation board's: the writer makes the
 * sequence odd, writes, makes it even; a reader whose copy a write overlapped is told so, and tries again next tick
 * rather than wait: under isolation: process the writer is the daemon's fs writes (frame-file.ts), which may queue
 * behind other work on libuv's threads. The layout (FRAME_LAYOUT) is the same in a SharedArrayBuffer and in a file.
 */
const INTS = 4; // seq, writes, order, reserved
const ORDERS: Frame['order'][] = ['rgb', 'bgr', 'gray', 'depth16'];

/** Byte offsets in a slot: the sequence and write count (int32 each), the order (int32), the time (float64), pixels. */
export const FRAME_LAYOUT = { seq: 0, writes: 4, order: 8, time: 16, pixels: 24 } as const;

/** The index of a frame's order, as a slot's order word holds it. */
export const orderIndex = (order: Frame['order']): number => ORDERS.indexOf(order);

export interface FrameSlotShape {
  width: number;
  height: number;
  channels: 1 | 3;
  /** 16-bit pixels: a 1-channel input's slot, which takes mono8 and 16UC1 depth alike. */
  depth16: boolean;
}

/** Bytes of a slot of `shape`: its header and pixels. */
export const frameSlotBytes = (shape: FrameSlotShape): number =>
  FRAME_LAYOUT.pixels + frameBytes({ ...shape, order: shape.depth16 ? 'depth16' : 'rgb' });

/** Throws unless `frame` fits a slot of `shape`. */
export function checkFrameFits(shape: FrameSlotShape, frame: Frame): void {
  const { width, height, channels, depth16 } = shape;
  if (frame.width !== width || frame.height !== height || frame.channels !== channels)
    throw new RangeError(
      `a ${frame.width} x ${frame.height} x ${frame.channels} frame in a ${width} x ${height} x ${channels} slot`,
    );
  if (frame.order === 'depth16' && !depth16) throw new RangeError('a 16-bit frame in a slot of 8-bit pixels');
}

export class FrameSlot {
  readonly buffer: ArrayBufferLike;
  readonly shape: FrameSlotShape;
  readonly #ints: Int32Array;
  readonly #time: Float64Array;
  readonly #pixels: Uint8Array | Uint16Array;

  /** Over `buffer` (another thread's slot, or a loop process's mapping of a frame file), or a new one. */
  constructor(shape: FrameSlotShape, buffer?: ArrayBufferLike) {
    this.shape = shape;
    const bytes = frameSlotBytes(shape);
    this.buffer = buffer ?? new SharedArrayBuffer(bytes);
    if (this.buffer.byteLength !== bytes) throw new RangeError('frame slot buffer does not match its shape');
    this.#ints = new Int32Array(this.buffer, 0, INTS);
    this.#time = new Float64Array(this.buffer, FRAME_LAYOUT.time, 1);
    const pixels = bytes - FRAME_LAYOUT.pixels;
    this.#pixels = shape.depth16
      ? new Uint16Array(this.buffer, FRAME_LAYOUT.pixels, pixels / 2)
      : new Uint8Array(this.buffer, FRAME_LAYOUT.pixels, pixels);
    if (!buffer) this.#time[0] = NaN;
  }

  /** Writes a frame of the slot's shape, stamped with `timeMs` (monotonic ms, loop-clock.ts). */
  write(frame: Frame, timeMs: number): void {
    checkFrameFits(this.shape, frame);
    const ints = this.#ints;
    Atomics.add(ints, 0, 1);
    this.#pixels.set(frame.data);
    this.#time[0] = timeMs;
    Atomics.store(ints, 2, orderIndex(frame.order));
    Atomics.add(ints, 0, 1);
    Atomics.add(ints, 1, 1);
  }

  /** Frames written so far: a reader converts again only when this moved. */
  writes(): number {
    return Atomics.load(this.#ints, 1);
  }

  /** Whether a write is in progress: a read now would fail. */
  writing(): boolean {
    return (Atomics.load(this.#ints, 0) & 1) !== 0;
  }

  /**
   * Hands the slot's pixels to `use` (which must only read them, e.g. into a tensor) and returns the frame's time
   * (NaN if none was written, and `use` is not called); undefined if a write was in progress (`use` not called) or
   * overlapped the read (what `use` read may mix two frames).
   */
  read(use: (pixels: Uint8Array | Uint16Array, order: Frame['order']) => void): number | undefined {
    const ints = this.#ints;
    const before = Atomics.load(ints, 0);
    if ((before & 1) !== 0) return undefined;
    const time = this.#time[0]!;
    if (!Number.isNaN(time)) use(this.#pixels, ORDERS[Atomics.load(ints, 2)]!);
    return Atomics.load(ints, 0) === before ? time : undefined;
  }
}
