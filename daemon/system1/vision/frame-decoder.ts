import { DecodePool, type DecodeSource, type DecodeSourceStats } from './decode-pool.ts';
import type { Frame } from './frame.ts';
import { judgeFrame } from './frame-judge.ts';
import type { CompressedImage, FrameTarget, RawImage } from './raw-pixels.ts';

export interface FrameDecoderOptions {
  /** Whose frames, for the errors' words: a loop's camera topic, or a policy's input. */
  name: string;
  /** A decode's budget: past it the decode is abandoned (its process killed), counted and refused as over_budget. */
  timeoutMs: number;
  /** The daemon's decode processes (DecodePool); without one, its own (one process, one for costly frames). */
  pool?: DecodePool;
  /** Tests only, without a pool: the process's entry (default frame-decoder-child.ts). */
  entry?: URL;
}

export type FrameDecoderStats = DecodeSourceStats;

/**
 * One camera's (or one query input's) frames decoded one at a time, each within a time budget, in the daemon's
 * decode processes (DecodePool). A frame is judged from its header where it arrives (judgeFrame: nothing of its size
 * is done there), and its bytes reach a decode process through memory, never a copy on the caller's thread. The
 * processes have their own libuv threads, so a costly decode never holds the threads the daemon's file I/O runs on
 * (the stop's latch file, the journal, the recorder); a decode past its budget is not waited for: its process is
 * killed, the frame refused and counted, and a new process takes the next frame. A crash in a loader ends only that
 * process. A raw frame that is already the input never leaves the caller. Frames are decoded in the order given;
 * callers that keep only the latest frame send the next when one answers. Callers must `close()` it.
 */
export class FrameDecoder {
  readonly #source: DecodeSource;
  readonly #pool: DecodePool;
  /** A pool of its own (none was given), closed with it. */
  readonly #own: boolean;
  #closed = false;

  constructor(options: FrameDecoderOptions) {
    const { name, timeoutMs, pool, entry } = options;
    this.#own = !pool;
    this.#pool = pool ?? new DecodePool({ processes: 1, memoryMb: Number.POSITIVE_INFINITY, entry });
    this.#source = this.#pool.source(name, timeoutMs);
  }

  get stats(): FrameDecoderStats {
    return this.#source.stats;
  }

  /** The pid of the decode process that decodes (or last decoded) its frame. */
  get pid(): number | undefined {
    return this.#source.pid;
  }

  /** The frame as `target` takes it; rejects with ImageError (over_budget past the budget). */
  decode(message: RawImage | CompressedImage, target: FrameTarget): Promise<Frame> {
    if (this.#closed) return Promise.reject(new Error(`${this.#source.name}: the frame decoder is closed`));
    let plan: ReturnType<typeof judgeFrame>;
    try {
      plan = judgeFrame(message, target);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    if ('frame' in plan) {
      this.#source.stats.decoded++;
      return Promise.resolve(plan.frame);
    }
    return this.#pool.decode(this.#source, plan.header, plan.data, target);
  }

  /** Refuses the frames still waiting; ends its own process, if it has one. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#pool.remove(this.#source);
    if (this.#own) await this.#pool.close();
  }
}
