import { closeSync, openSync, writeSync } from 'node:fs';
import { boardLayout, ObservationBoard, type BoardOffsets } from './observation-board.ts';

/**
 * A loop process's observation board as a file of its tmpfs folder, laid out as ObservationBoard, which the process's
 * loop thread maps and reads (isolation: process). The daemon's main thread writes a slot with the board's seqlock,
 * one pwrite per step (four small ones, a few microseconds in all, nothing allocated): no message, no serialization,
 * and the loop never waits on this thread's event loop. Only the main thread writes it; once closed (its process
 * gone) a write does nothing.
 */
export class BoardFile {
  readonly path: string;
  readonly #fd: number;
  readonly #slots: BoardOffsets[];
  /** Per slot, the sequence and write count last written (this side is their one writer). */
  readonly #words: Int32Array;
  readonly #word = new Int32Array(2);
  readonly #time = new Float64Array(1);
  #closed = false;

  constructor(path: string, lengths: number[]) {
    this.path = path;
    this.#slots = boardLayout(lengths).slots;
    this.#words = new Int32Array(lengths.length * 2);
    this.#fd = openSync(path, 'wx+', 0o600);
    // A new board's bytes: no slot written, every time NaN.
    const empty = new ObservationBoard({ lengths }).buffer as SharedArrayBuffer;
    writeSync(this.#fd, new Uint8Array(empty), 0, empty.byteLength, 0);
  }

  /** Writes slot `i` from `values` (exactly its length), stamped with `timeMs` (monotonic ms, loop-clock.ts). */
  write(i: number, values: Float32Array, timeMs: number): void {
    // Closed with its process: its descriptor's number may be another file's by now.
    if (this.#closed) return;
    const fd = this.#fd;
    const { seq, time, values: at } = this.#slots[i]!;
    const word = this.#word;
    const words = this.#words;
    word[0] = ++words[i * 2]!;
    writeSync(fd, word, 0, 4, seq);
    writeSync(fd, values, 0, values.byteLength, at);
    this.#time[0] = timeMs;
    writeSync(fd, this.#time, 0, 8, time);
    word[0] = ++words[i * 2]!;
    word[1] = ++words[i * 2 + 1]!;
    writeSync(fd, word, 0, 8, seq);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeSync(this.#fd);
  }
}
