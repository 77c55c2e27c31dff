import { spawn, type ChildProcess } from 'node:child_process';
import { TimeoutError, withTimeout } from '../../../daemon/util/index.ts';
import { DatasetError } from './dataset-types.ts';

/** How ffmpeg and ffprobe are installed on the Debian and Ubuntu the daemon runs on. */
export const FFMPEG_INSTALL = 'apt install ffmpeg';

/** The end of ffmpeg's stderr an error quotes: its own reason is in the last lines. */
const STDERR_TAIL_CHARS = 2000;

/** How long ffprobe may take to read a file's header (it takes milliseconds): a stuck one is stopped. */
export const PROBE_TIMEOUT_MS = 10_000;

/** A run's start: opening its file or encoder, decoding from the keyframe before an episode. */
const START_MS = 10_000;

/**
 * The time limits of a decode and an encode: the start, then per frame 20 ms (decode) or 50 ms (encode) and as much
 * again per 0.4 (decode) or 0.25 (encode) megapixels. They are many times what a robot's CPU takes: they stop a stuck
 * run (a file swapped for a named pipe after it was checked, a hung encoder), never a slow one.
 */
export const decodeTimeoutMs = (frames: number, width: number, height: number): number =>
  START_MS + frames * (20 + (50 * width * height) / 1e6);
export const encodeTimeoutMs = (frames: number, width: number, height: number): number =>
  START_MS + frames * (50 + (200 * width * height) / 1e6);

/**
 * The path by which ffmpeg opens the file given as its `input`: the same file, whatever became of its name since it was
 * opened and checked (ffmpeg opens it anew, so it can seek).
 */
export const INPUT_FD_PATH = '/proc/self/fd/3';

/** ffmpeg (or ffprobe) could not run, or did not finish its work. */
export class FfmpegError extends DatasetError {
  override name = 'FfmpegError';
}

export interface FfmpegOptions {
  /** The environment ffmpeg runs in (its PATH finds it); the caller's, so a CLI run finds what its user's finds. */
  env?: NodeJS.ProcessEnv;
  /** What ffmpeg was doing, for errors: "encoding observation.images.front". */
  what: string;
  /** Whether ffmpeg reads its input from stdin (raw frames written with write()). */
  stdin?: boolean;
  /** A file descriptor of ours that ffmpeg gets as its fd 3, to read by INPUT_FD_PATH. */
  input?: number;
  /**
   * How long the caller may wait on this run, its waits together (for output, for a full pipe to drain, for its exit);
   * past it the run is killed and its error says so. The time the run waits on the caller (its output pipe full while
   * the caller works on a frame) is not counted, so a slow consumer never times out a sound run.
   */
  timeoutMs: number;
}

/**
 * One run of ffmpeg or ffprobe as a child process: frames go to its stdin with backpressure (write() waits while
 * the pipe is full, so a slow encoder never makes the frames pile up in memory) and its stdout is read a frame at a
 * time. Its stderr is kept (the end of it) for the error a failed run becomes. Every wait on it is counted against its
 * time limit (`timeoutMs`). Callers must wait on each call before the next, and end with finish() or kill().
 */
export class FfmpegProcess {
  #child: ChildProcess;
  #program: string;
  #what: string;
  #stderr = '';
  #spawnError: NodeJS.ErrnoException | undefined;
  #exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #killed = false;
  #timeoutMs: number;
  #leftMs: number;
  #timedOut = false;
  #output: AsyncIterator<Buffer>;
  /** Output read from the pipe past the last read(). */
  #rest: Buffer | undefined;

  constructor(program: 'ffmpeg' | 'ffprobe', args: readonly string[], options: FfmpegOptions) {
    const { env = process.env, what, stdin = false, input, timeoutMs } = options;
    this.#program = program;
    this.#what = what;
    this.#timeoutMs = timeoutMs;
    this.#leftMs = timeoutMs;
    // SVT-AV1 prints its settings on stderr at every start: its warnings and errors only.
    this.#child = spawn(program, args, {
      env: { SVT_LOG: '2', ...env },
      stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', ...(input === undefined ? [] : [input])],
    });
    this.#output = (this.#child.stdout! as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    this.#child.stderr!.on('data', (d: Buffer) => {
      this.#stderr = (this.#stderr + d.toString()).slice(-STDERR_TAIL_CHARS);
    });
    // A write after ffmpeg exited fails with EPIPE: its exit status and stderr say why, and write() throws that.
    this.#child.stdin?.on('error', () => {});
    this.#exit = new Promise((resolve) => {
      this.#child.on('error', (error) => {
        this.#spawnError = error;
        resolve({ code: null, signal: null });
      });
      this.#child.on('close', (code, signal) => resolve({ code, signal }));
    });
  }

  /** Writes one frame to ffmpeg's stdin; waits while the pipe is full. Throws once ffmpeg has exited. */
  async write(data: Uint8Array): Promise<void> {
    const stdin = this.#child.stdin!;
    if (stdin.writableEnded || stdin.destroyed || this.#child.exitCode !== null || this.#spawnError) {
      await this.#exit;
      throw this.#failure(await this.#exit);
    }
    if (stdin.write(data)) return;
    // Drained, or exited with the pipe full: whichever comes first.
    const drained = new Promise<boolean>((resolve) => {
      const done = () => resolve(true);
      stdin.once('drain', done);
      void this.#exit.then(() => {
        stdin.off('drain', done);
        resolve(false);
      });
    });
    if (!(await this.#waited(drained))) throw this.#failure(await this.#exit);
  }

  /**
   * The next `size` bytes of its output (a frame); fewer at its end (a partial frame), undefined once none are left.
   * Throws FfmpegError once its time is up.
   */
  async read(size: number): Promise<Uint8Array | undefined> {
    const out = new Uint8Array(size);
    let filled = 0;
    const fill = async (): Promise<void> => {
      while (filled < size) {
        let chunk = this.#rest;
        this.#rest = undefined;
        if (!chunk) {
          const next = await this.#output.next();
          if (next.done) return;
          chunk = next.value;
        }
        const n = Math.min(size - filled, chunk.length);
        out.set(chunk.subarray(0, n), filled);
        filled += n;
        if (n < chunk.length) this.#rest = chunk.subarray(n);
      }
    };
    await this.#waited(fill());
    return filled === 0 ? undefined : out.subarray(0, filled);
  }

  /** All its output as text (ffprobe's answer). */
  async text(): Promise<string> {
    const decoder = new TextDecoder();
    let text = '';
    for (let bytes; (bytes = await this.read(64 * 1024));) text += decoder.decode(bytes, { stream: true });
    return text + decoder.decode();
  }

  /** Ends stdin and waits for ffmpeg to exit; throws FfmpegError when it failed or its time is up. */
  async finish(): Promise<void> {
    this.#child.stdin?.end();
    const exit = await this.#waited(this.#exit);
    if (exit.code !== 0) throw this.#failure(exit);
  }

  /** Ends ffmpeg now (a failed export, a reader that stopped early); resolves once it has exited. */
  async kill(): Promise<void> {
    this.#killed = true;
    this.#child.stdin?.destroy();
    this.#child.kill('SIGKILL');
    await this.#exit;
  }

  /** Resolves with its exit status once it has exited. */
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.#exit;
  }

  /** `work`, within what is left of the time limit; past it the run is killed and FfmpegError says so. */
  async #waited<T>(work: Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await withTimeout(work, Math.max(0, this.#leftMs), `${this.#what}: time is up`);
    } catch (error) {
      if (!(error instanceof TimeoutError)) throw error;
      this.#timedOut = true;
      this.#child.kill('SIGKILL');
      throw this.#failure(await this.#exit);
    } finally {
      this.#leftMs -= performance.now() - started;
    }
  }

  #failure(exit: { code: number | null; signal: NodeJS.Signals | null }): FfmpegError {
    if (this.#spawnError?.code === 'ENOENT')
      return new FfmpegError(
        `${this.#what} needs ${this.#program}, which is not installed (not found on PATH): install it with \`${FFMPEG_INSTALL}\` (Debian, Ubuntu; it brings ffmpeg and ffprobe)`,
      );
    if (this.#spawnError)
      return new FfmpegError(`${this.#what}: ${this.#program} could not run: ${this.#spawnError.message}`);
    const how = this.#timedOut
      ? `did not finish within its time limit (${(this.#timeoutMs / 1000).toFixed(1)} s for this work) and was stopped`
      : this.#killed
        ? 'was stopped'
        : exit.signal
          ? `was ended by ${exit.signal}`
          : `failed (exit ${exit.code})`;
    const said = this.#stderr.trim();
    return new FfmpegError(
      `${this.#what}: ${this.#program} ${how}${said ? `: ${said.split('\n').slice(-6).join(' | ')}` : ''}`,
    );
  }
}
