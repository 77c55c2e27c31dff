import { fork, type ChildProcess } from 'node:child_process';
import { errorText, workerEntry } from '../../util/index.ts';
import type { Frame } from './frame.ts';
import { passThrough, type CompressedImage, type FrameTarget, type RawImage } from './raw-pixels.ts';
import { ImageError, type ImageErrorCode } from './image-error.ts';

export type ToDecoder = { id: number; message: RawImage | CompressedImage; target: FrameTarget };
export type FromDecoder =
  | { op: 'ready' }
  | { op: 'frame'; id: number; frame: Frame }
  | { op: 'error'; id: number; code?: ImageErrorCode; message: string };

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

interface Job extends ToDecoder {
  resolve: (frame: Frame) => void;
  reject: (error: Error) => void;
}

/** How long a new decode process may take to load sharp before the frames waiting for it fail. */
const START_WAIT_MS = 30_000;

/**
 * One camera's (or one query input's) frames decoded in a child process of its own, one at a time, each within a
 * time budget. The process has its own libuv threads, so a costly decode never holds the threads the daemon's file
 * I/O runs on (the stop's latch file, the journal, the recorder), and never another camera's; a decode past its
 * budget is not waited for: its process is killed, the frame refused and counted, and a new process takes the next
 * frame. A crash in a loader ends only that process. A raw frame that needs no resizing never leaves the caller.
 * Frames are decoded in the order given; callers that keep only the latest frame send the next when one answers.
 * Callers must `close()` it: the process lives until then.
 */
export class FrameDecoder {
  readonly stats: FrameDecoderStats = { decoded: 0, abandoned: 0, crashed: 0 };
  readonly #name: string;
  readonly #timeoutMs: number;
  readonly #entry: URL;
  #child: ChildProcess | undefined;
  #ready = false;
  #startTimer: NodeJS.Timeout | undefined;
  #queue: Job[] = [];
  #running: { job: Job; timer: NodeJS.Timeout } | undefined;
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
    return this.#child?.pid;
  }

  /** The frame as `target` takes it; rejects with ImageError (over_budget past the budget). */
  decode(message: RawImage | CompressedImage, target: FrameTarget): Promise<Frame> {
    if (this.#closed) return Promise.reject(new Error(`${this.#name}: the frame decoder is closed`));
    let frame: Frame | undefined;
    try {
      frame = passThrough(message, target);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    if (frame) {
      this.stats.decoded++;
      return Promise.resolve(frame);
    }
    return new Promise<Frame>((resolve, reject) => {
      this.#queue.push({ id: this.#nextId++, message, target, resolve, reject });
      this.#next();
    });
  }

  /** Ends the process; frames still waiting are refused. */
  async close(): Promise<void> {
    this.#closed = true;
    const closed = new Error(`${this.#name}: the frame decoder closed before this frame was decoded`);
    for (const job of this.#queue.splice(0)) job.reject(closed);
    if (this.#running) {
      clearTimeout(this.#running.timer);
      this.#running.job.reject(closed);
      this.#running = undefined;
    }
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.ref(); // its exit is waited for
    child.kill('SIGKILL'); // nothing in it is worth waiting for: a decode's frame has no one to go to now
    await exited;
  }

  #next(): void {
    if (this.#closed || this.#running || this.#queue.length === 0) return;
    const child = this.#started();
    // Frames waiting keep the caller's process alive, as any I/O it waits on would; an idle decoder does not.
    child.channel?.ref();
    if (!this.#ready) return; // sent on its 'ready'
    const job = this.#queue.shift()!;
    const timer = setTimeout(() => this.#abandon(child), this.#timeoutMs);
    this.#running = { job, timer };
    const { id, message, target } = job;
    child.send({ id, message, target } satisfies ToDecoder);
  }

  #started(): ChildProcess {
    if (this.#child) return this.#child;
    const typescript = this.#entry.pathname.endsWith('.ts');
    const child = fork(this.#entry, [], {
      // Its heap holds one frame's messages at a time; libvips' pixels are outside it, bounded by max_pixels.
      execArgv: ['--max-old-space-size=64', ...(typescript ? ['--import', import.meta.resolve('tsx')] : [])],
      serialization: 'advanced', // a frame's bytes cross as typed arrays
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#child = child;
    this.#ready = false;
    child.unref();
    child.channel?.unref();
    this.#startTimer = setTimeout(
      () => this.#failAll(child, `the decode process did not start within ${START_WAIT_MS / 1000} s`),
      START_WAIT_MS,
    );
    this.#startTimer.unref();
    child.on('message', (m: FromDecoder) => this.#received(child, m));
    child.on('error', (error) => {
      if (child.pid === undefined) this.#failAll(child, `the decode process could not start: ${errorText(error)}`);
    });
    child.once('exit', (code, signal) => this.#exited(child, signal ?? `code ${code}`));
    return child;
  }

  #received(child: ChildProcess, m: FromDecoder): void {
    if (child !== this.#child) return;
    if (m.op === 'ready') {
      clearTimeout(this.#startTimer);
      this.#ready = true;
      return this.#next();
    }
    const running = this.#running;
    if (!running || running.job.id !== m.id) return; // a frame already abandoned
    clearTimeout(running.timer);
    this.#running = undefined;
    if (this.#queue.length === 0) child.channel?.unref();
    if (m.op === 'frame') {
      this.stats.decoded++;
      running.job.resolve(m.frame);
    } else running.job.reject(m.code ? new ImageError(m.code, m.message) : new Error(m.message));
    this.#next();
  }

  /** The running decode is past its budget: its process goes, and a new one takes the frames after it. */
  #abandon(child: ChildProcess): void {
    const running = this.#running;
    if (!running || child !== this.#child) return;
    this.#running = undefined;
    this.#child = undefined;
    this.stats.abandoned++;
    child.kill('SIGKILL');
    const { message } = running.job;
    const what = 'format' in message ? `a ${message.data.byteLength}-byte compressed frame` : 'a raw frame';
    running.job.reject(
      new ImageError(
        'over_budget',
        `${this.#name}: ${what} took longer than decode_timeout_ms (${this.#timeoutMs} ms) to decode; abandoned`,
      ),
    );
    this.#next();
  }

  #exited(child: ChildProcess, how: string): void {
    if (child !== this.#child) return; // killed for its budget, or closed: already answered
    this.#child = undefined;
    clearTimeout(this.#startTimer);
    // One that never became ready would do the same again: the frames waiting fail, and the next frame tries anew.
    if (!this.#ready) {
      for (const job of this.#queue.splice(0))
        job.reject(new Error(`${this.#name}: the decode process ended (${how}) as it started`));
      return;
    }
    const running = this.#running;
    this.#running = undefined;
    if (running) {
      clearTimeout(running.timer);
      this.stats.crashed++;
      running.job.reject(
        new ImageError('decode_failed', `${this.#name}: the decode process ended (${how}) while decoding this frame`),
      );
    }
    this.#next();
  }

  /** The process never became ready: the frames waiting for it fail, and the next frame tries a new one. */
  #failAll(child: ChildProcess, why: string): void {
    if (child !== this.#child) return;
    this.#child = undefined;
    child.kill('SIGKILL');
    for (const job of this.#queue.splice(0)) job.reject(new Error(`${this.#name}: ${why}`));
  }
}
