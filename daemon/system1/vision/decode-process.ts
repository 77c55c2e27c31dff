import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { getPriority, setPriority } from 'node:os';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { errorText, memoryFolder } from '../../util/index.ts';
import type { Frame } from './frame.ts';
import type { FrameHeader } from './frame-judge.ts';
import type { ImageErrorCode } from './image-error.ts';
import type { FrameTarget } from './raw-pixels.ts';

/** The descriptor the decode process reads its frames' bytes from: its memory file, fifth in its stdio. */
export const INPUT_FD = 4;

export type ToDecoder = { id: number; header: FrameHeader; length: number; target: FrameTarget };
export type FromDecoder =
  | { op: 'ready' }
  | { op: 'frame'; id: number; frame: Frame; rss: number; cpuMs: number }
  | { op: 'error'; id: number; code?: ImageErrorCode; message: string; rss: number; cpuMs: number };

/** A decode's answer: the frame, or the decode process's refusal; and the process's RSS after it. */
export type DecodeReply = Extract<FromDecoder, { op: 'frame' | 'error' }>;

/** The decode process ended (killed, crashed, or never started) before it answered. */
export class DecodeProcessEnded extends Error {
  override name = 'DecodeProcessEnded';
  /** Whether it had become ready: one that ended as it started would do so again. */
  readonly started: boolean;
  constructor(message: string, started: boolean) {
    super(message);
    this.started = started;
  }
}

/**
 * The argument that tells a decode process it is the pool's process for costly frames: it starts at nice 10 and
 * lowers itself (lowerProcess) to nice 19 before it decodes anything. Its start (node, sharp: about half a second of
 * CPU) at nice 19 would take more than START_WAIT_MS on cores other work holds; at nice 10 it still yields most of the
 * CPU, so restarting it after each costly frame buys a flood little.
 */
export const LOW_ARG = '--low-priority';

function lowerFirstThread(pid: number): void {
  try {
    setPriority(pid, Math.max(getPriority(pid), 10)); // never above the daemon's own
  } catch {
    // Gone already, or not ours to lower: it lowers itself as it starts.
  }
}

/** How long a new decode process may take to load sharp before the frames waiting for it fail. */
const START_WAIT_MS = 30_000;

/**
 * One decode process (frame-decoder-child.ts) and the file its frames' bytes reach it through: a file in memory
 * (tmpfs), unlinked as soon as it is made, which the process holds as INPUT_FD. A frame's bytes are written there on
 * libuv's threads and read there by the process on its own, so nothing of a frame is copied on the daemon's main
 * thread, and nothing of its size crosses the process's channel, only its header. Callers must wait on a decode to
 * complete before starting another, and must kill() it: it lives until then.
 */
export class DecodeProcess {
  readonly #child: ChildProcess;
  readonly #file: FileHandle;
  /** Settles when it is ready for frames, or rejects when it ends first. */
  readonly #ready: Promise<void>;
  #readied: { resolve: () => void; reject: (error: Error) => void } | undefined;
  #started = false;
  #ended: DecodeProcessEnded | undefined;
  #pending: { id: number; resolve: (reply: DecodeReply) => void; reject: (error: Error) => void } | undefined;
  /** Its RSS after its last decode, bytes (0 before one). */
  rss = 0;

  private constructor(child: ChildProcess, file: FileHandle) {
    this.#child = child;
    this.#file = file;
    this.#ready = new Promise<void>((resolve, reject) => (this.#readied = { resolve, reject }));
    this.#ready.catch(() => {}); // heard by a decode waiting for the start, if any
    const timer = setTimeout(() => {
      this.#end(`the decode process did not start within ${START_WAIT_MS / 1000} s`);
      child.kill('SIGKILL');
    }, START_WAIT_MS);
    timer.unref();
    child.on('message', (m: FromDecoder) => this.#received(m, timer));
    child.on('error', (error) => {
      if (child.pid === undefined) this.#end(`the decode process could not start: ${errorText(error)}`);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      this.#end(`the decode process ended (${signal ?? `code ${code}`})`);
      void file.close();
    });
  }

  /**
   * A new decode process running `entry`, with its memory file; `low`: at nice 19 once ready (LOW_ARG), every thread
   * of it, so what it decodes yields the CPU to the daemon and the other decode processes.
   */
  static async start(entry: URL, low = false): Promise<DecodeProcess> {
    const path = join(memoryFolder(), `auraison-decode-${process.pid}-${randomBytes(6).toString('hex')}`);
    const file = await open(path, 'wx+', 0o600);
    await unlink(path); // held by its descriptors alone: nothing is left behind, however the daemon ends
    const typescript = entry.pathname.endsWith('.ts');
    let child: ChildProcess;
    try {
      child = fork(entry, low ? [LOW_ARG] : [], {
        // Its heap holds one frame's messages at a time; a frame's bytes and libvips' pixels are outside it, bounded
        // by max_pixels.
        execArgv: ['--max-old-space-size=64', ...(typescript ? ['--import', import.meta.resolve('tsx')] : [])],
        serialization: 'advanced', // a decoded frame's bytes come back as a typed array
        stdio: ['ignore', 'inherit', 'inherit', 'ipc', file.fd],
      });
    } catch (error) {
      await file.close();
      throw error;
    }
    // Its first thread now, before it starts the rest; it lowers those itself (LOW_ARG).
    if (low && child.pid !== undefined) lowerFirstThread(child.pid);
    child.unref();
    child.channel?.unref();
    return new DecodeProcess(child, file);
  }

  /** Resolves once it is ready for frames; rejects with DecodeProcessEnded if it ends first. */
  ready(): Promise<void> {
    // Waiting for it keeps the daemon alive, as any I/O it waits on would; an idle process does not.
    this.#child.channel?.ref();
    return this.#ready.finally(() => this.#child.channel?.unref());
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Whether it ended (killed, crashed, or never started). */
  get ended(): boolean {
    return this.#ended !== undefined;
  }

  /**
   * Decodes `data` as `header` says, to `target`: its bytes written to the memory file, its header sent. Rejects with
   * DecodeProcessEnded if the process ends first.
   */
  async decode(id: number, header: FrameHeader, data: Uint8Array, target: FrameTarget): Promise<DecodeReply> {
    await this.#ready;
    if (this.#ended) throw this.#ended;
    // Waiting for its answer keeps the daemon alive, as any I/O it waits on would; an idle process does not.
    this.#child.channel?.ref();
    try {
      const { bytesWritten } = await this.#file.write(data, 0, data.byteLength, 0);
      if (bytesWritten !== data.byteLength)
        throw new Error(`wrote ${bytesWritten} of a frame's ${data.byteLength} bytes to its decode process's file`);
      if (this.#ended) throw this.#ended;
      return await new Promise<DecodeReply>((resolve, reject) => {
        this.#pending = { id, resolve, reject };
        this.#child.send({ id, header, length: data.byteLength, target } satisfies ToDecoder);
      });
    } finally {
      this.#child.channel?.unref();
    }
  }

  /** Ends the process now; a decode in it is rejected. */
  kill(): void {
    this.#end('the decode process was killed');
    this.#child.kill('SIGKILL');
  }

  /** Kills it and waits for its end. */
  async close(): Promise<void> {
    const child = this.#child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.ref(); // its exit is waited for
    this.kill();
    await exited;
  }

  #received(m: FromDecoder, startTimer: NodeJS.Timeout): void {
    if (m.op === 'ready') {
      clearTimeout(startTimer);
      this.#started = true;
      return this.#readied?.resolve();
    }
    if (this.#pending?.id !== m.id) return; // a decode its caller gave up
    const { resolve } = this.#pending;
    this.#pending = undefined;
    this.rss = m.rss;
    resolve(m);
  }

  #end(why: string): void {
    if (this.#ended) return;
    this.#ended = new DecodeProcessEnded(why, this.#started);
    this.#readied?.reject(this.#ended);
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.reject(this.#ended);
  }
}
