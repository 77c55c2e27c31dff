import { open, type FileHandle } from 'node:fs/promises';
import type { Frame } from '../vision/frame.ts';
import { checkFrameFits, FRAME_LAYOUT, frameSlotBytes, orderIndex, type FrameSlotShape } from '../vision/frame-slot.ts';
import type { FrameSink } from './frame-feed.ts';

/**
 * A camera's frame slot as a file of a loop process's tmpfs folder, laid out as FrameSlot, which the loop process
 * maps and reads (isolation: process). It is written with the slot's seqlock, each step an fs write: the pixels are
 * copied into the file's pages on libuv's threads, never on the daemon's main thread, and nothing of a frame goes
 * over the process's fork channel. Callers must wait on a write to complete before starting another (FrameFeed
 * does: one decode per camera at a time).
 */
export class FrameFile implements FrameSink {
  readonly path: string;
  readonly shape: FrameSlotShape;
  readonly #file: FileHandle;
  /** The header's words, written from here: seq, writes, order (int32), time (float64). */
  readonly #header = new ArrayBuffer(FRAME_LAYOUT.pixels);
  readonly #ints = new Int32Array(this.#header, 0, 3);
  readonly #time = new Float64Array(this.#header, FRAME_LAYOUT.time, 1);

  private constructor(path: string, shape: FrameSlotShape, file: FileHandle) {
    this.path = path;
    this.shape = shape;
    this.#file = file;
  }

  /** Creates the file at `path` (only its owner may read it), sized for `shape`, with no frame yet. */
  static async create(path: string, shape: FrameSlotShape): Promise<FrameFile> {
    const file = await open(path, 'wx+', 0o600);
    try {
      await file.truncate(frameSlotBytes(shape));
      const slot = new FrameFile(path, shape, file);
      slot.#time[0] = Number.NaN;
      await slot.#put(0, FRAME_LAYOUT.pixels);
      return slot;
    } catch (error) {
      await file.close();
      throw error;
    }
  }

  /** Writes `frame` (of the slot's shape), stamped with `timeMs` (monotonic ms, loop-clock.ts). */
  async write(frame: Frame, timeMs: number): Promise<void> {
    checkFrameFits(this.shape, frame);
    const ints = this.#ints;
    ints[0]! += 1;
    await this.#put(FRAME_LAYOUT.seq, 4);
    const pixels = new Uint8Array(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength);
    await this.#write(pixels, FRAME_LAYOUT.pixels);
    ints[2] = orderIndex(frame.order);
    this.#time[0] = timeMs;
    await this.#put(FRAME_LAYOUT.order, FRAME_LAYOUT.pixels - FRAME_LAYOUT.order);
    ints[0]! += 1;
    ints[1]! += 1;
    await this.#put(FRAME_LAYOUT.seq, 8);
  }

  /** Closes the file once a write in progress is done; the loop process's folder goes with the process. */
  close(): Promise<void> {
    return this.#file.close();
  }

  /** Writes the header's bytes [from, from + length) to the same place in the file. */
  #put(from: number, length: number): Promise<void> {
    return this.#write(new Uint8Array(this.#header, from, length), from);
  }

  async #write(bytes: Uint8Array, position: number): Promise<void> {
    const { bytesWritten } = await this.#file.write(bytes, 0, bytes.length, position);
    // tmpfs writes whole or fails; a short write is a full /dev/shm.
    if (bytesWritten !== bytes.length)
      throw new Error(`${this.path}: wrote ${bytesWritten} of ${bytes.length} bytes (is its tmpfs full?)`);
  }
}
