import { workerEntry } from '../../util/index.ts';
import { DecodeProcess, DecodeProcessEnded } from './decode-process.ts';
import type { Frame } from './frame.ts';
import { judgeFrame, type FrameHeader } from './frame-judge.ts';
import { ImageError } from './image-error.ts';
import type { CompressedImage, FrameTarget, RawImage } from './raw-pixels.ts';

export interface FrameDecoderOptions {
  /** Whose frames, for the errors' words: a loop's camera topic, or a policy's input. */
  name: string;
  /** A decode's budget: past it the decode is abandoned (its process killed), counted and refused as over_budget. */
  timeoutMs: number;
  /** Tests only: the process's entry (default frame-decoder-child.ts). */
  entry?: URL;
}

export interface FrameDecoderStats {
  decoded: number;
  /** Decodes past their budget: their process was killed, and the next frame gets a new one. */
  abandoned: number;
  /** Decode processes that ended on their own in a decode (a crash in a loader). */
  crashed: number;
}

interface Job {
  header: FrameHeader;
  data: Uint8Array;
  target: FrameTarget;
  resolve: (frame: Frame) => void;
  reject: (error: Error) => void;
}

/**
 * One camera's (or one query input's) frames decoded in a child process of its own (DecodeProcess), one at a time,
 * each within a time budget. A frame is judged from its header where it arrives (judgeFrame: nothing of its size is
 * done there), and its bytes reach the process through memory, never a copy on the caller's thread. The process has its
 * own libuv threads, so a costly decode never holds the threads the daemon's file I/O runs on (the stop's latch file,
 * the journal, the recorder), and never another camera's; a decode past its budget is not waited for: its process is
 * killed, the frame refused and counted, and a new process takes the next frame. A crash in a loader ends only that
 * process. A raw frame that is already the input never leaves the caller. Frames are decoded in the order given;
 * callers that keep only the latest frame send the next when one answers. Callers must `close()` it: the process
 * lives until then.
 */
export class FrameDecoder {
  readonly stats: FrameDecoderStats = { decoded: 0, abandoned: 0, crashed: 0 };
  readonly #name: string;
  readonly #timeoutMs: number;
  readonly #entry: URL;
  #process: Promise<DecodeProcess> | undefined;
  #pid: number | undefined;
  #queue: Job[] = [];
  #running: Job | undefined;
  #nextId = 1;
  #closed = false;

  constructor(options: FrameDecoderOptions) {
    const { name, timeoutMs, entry = workerEntry('daemon/system1/vision/frame-decoder-child') } = options;
    this.#name = name;
    this.#timeoutMs = timeoutMs;
    this.#entry = entry;
  }

  /** The decode process's pid, while one runs. */
  get pid(): number | undefined {
    return this.#pid;
  }

  /** The frame as `target` takes it; rejects with ImageError (over_budget past the budget). */
  decode(message: RawImage | CompressedImage, target: FrameTarget): Promise<Frame> {
    if (this.#closed) return Promise.reject(new Error(`${this.#name}: the frame decoder is closed`));
    let plan: ReturnType<typeof judgeFrame>;
    try {
      plan = judgeFrame(message, target);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    if ('frame' in plan) {
      this.stats.decoded++;
      return Promise.resolve(plan.frame);
    }
    return new Promise<Frame>((resolve, reject) => {
      this.#queue.push({ header: plan.header, data: plan.data, target, resolve, reject });
      void this.#next();
    });
  }

  /** Ends the process; frames still waiting are refused. */
  async close(): Promise<void> {
    this.#closed = true;
    const closed = new Error(`${this.#name}: the frame decoder closed before this frame was decoded`);
    for (const job of this.#queue.splice(0)) job.reject(closed);
    this.#running?.reject(closed);
    this.#running = undefined;
    const child = this.#process;
    this.#process = undefined;
    // Nothing in it is worth waiting for: a decode's frame has no one to go to now.
    await child?.then(
      (p) => p.close(),
      () => {}, // it never started: nothing to end
    );
  }

  async #next(): Promise<void> {
    if (this.#closed || this.#running || this.#queue.length === 0) return;
    const job = this.#queue.shift()!;
    this.#running = job;
    let child: DecodeProcess;
    try {
      child = await this.#started();
      await child.ready();
    } catch (error) {
      // One that never became ready would do the same again: the frames waiting fail, and the next frame tries anew.
      this.#process = undefined;
      const why = new Error(`${this.#name}: ${(error as Error).message} as it started`);
      for (const waiting of [job, ...this.#queue.splice(0)]) waiting.reject(why);
      this.#running = undefined;
      return;
    }
    if (this.#running !== job) return; // closed meanwhile
    let abandoned = false;
    // The budget counts from a ready process: a start is not the frame's cost.
    const timer = setTimeout(() => {
      abandoned = true;
      this.stats.abandoned++;
      child.kill();
    }, this.#timeoutMs);
    try {
      const reply = await child.decode(this.#nextId++, job.header, job.data, job.target);
      if (reply.op === 'frame') {
        this.stats.decoded++;
        job.resolve(reply.frame);
      } else job.reject(reply.code ? new ImageError(reply.code, reply.message) : new Error(reply.message));
    } catch (error) {
      job.reject(this.#failure(error as Error, job, abandoned));
    } finally {
      clearTimeout(timer);
      if (child.ended) this.#process = undefined;
      if (this.#running === job) this.#running = undefined;
      void this.#next();
    }
  }

  #failure(error: Error, job: Job, abandoned: boolean): Error {
    if (abandoned) {
      const what = 'format' in job.header ? `a ${job.data.byteLength}-byte compressed frame` : 'a raw frame';
      return new ImageError(
        'over_budget',
        `${this.#name}: ${what} took longer than decode_timeout_ms (${this.#timeoutMs} ms) to decode; abandoned`,
      );
    }
    if (!(error instanceof DecodeProcessEnded)) return error;
    this.stats.crashed++;
    return new ImageError('decode_failed', `${this.#name}: ${error.message} while decoding this frame`);
  }

  #started(): Promise<DecodeProcess> {
    if (!this.#process) {
      const started = DecodeProcess.start(this.#entry);
      this.#process = started;
      void started.then((p) => (this.#pid = p.pid));
    }
    return this.#process.then(async (p) => {
      if (!p.ended) return p;
      this.#process = undefined;
      return this.#started();
    });
  }
}
