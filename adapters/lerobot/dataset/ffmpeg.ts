import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { DatasetError } from './dataset-types.ts';

/** How ffmpeg and ffprobe are installed on the Debian and Ubuntu the daemon runs on. */
export const FFMPEG_INSTALL = 'apt install ffmpeg';

/** The end of ffmpeg's stderr an error quotes: its own reason is in the last lines. */
const STDERR_TAIL_CHARS = 2000;

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
}

/**
 * One run of ffmpeg or ffprobe as a child process: frames go to its stdin with backpressure (write() waits while
 * the pipe is full, so a slow encoder never makes the frames pile up in memory) and its stdout is read as a stream.
 * Its stderr is kept (the end of it) for the error a failed run becomes. Callers must wait on write() before
 * writing again, and call finish() or kill() once.
 */
export class FfmpegProcess {
  readonly stdout: Readable;
  #child: ChildProcess;
  #program: string;
  #what: string;
  #stderr = '';
  #spawnError: NodeJS.ErrnoException | undefined;
  #exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #killed = false;

  constructor(program: 'ffmpeg' | 'ffprobe', args: readonly string[], options: FfmpegOptions) {
    const { env = process.env, what, stdin = false } = options;
    this.#program = program;
    this.#what = what;
    // SVT-AV1 prints its settings on stderr at every start: its warnings and errors only.
    this.#child = spawn(program, args, {
      env: { SVT_LOG: '2', ...env },
      stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    this.stdout = this.#child.stdout!;
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
    const drained = new Promise<boolean>((resolve) => stdin.once('drain', () => resolve(true)));
    if (!(await Promise.race([drained, this.#exit.then(() => false)]))) throw this.#failure(await this.#exit);
  }

  /** Ends stdin and waits for ffmpeg to exit; throws FfmpegError when it failed. */
  async finish(): Promise<void> {
    this.#child.stdin?.end();
    const exit = await this.#exit;
    if (exit.code !== 0) throw this.#failure(exit);
  }

  /** Ends ffmpeg now (a failed export, a reader that stopped early); resolves once it has exited. */
  async kill(): Promise<void> {
    this.#killed = true;
    this.#child.stdin?.destroy();
    this.#child.kill('SIGKILL');
    await this.#exit;
  }

  /** The error of a run that failed: not installed, or its exit status with the end of its stderr. */
  failure(): Promise<FfmpegError> {
    return this.#exit.then((exit) => this.#failure(exit));
  }

  /** Resolves with its exit status once it has exited. */
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.#exit;
  }

  #failure(exit: { code: number | null; signal: NodeJS.Signals | null }): FfmpegError {
    if (this.#spawnError?.code === 'ENOENT')
      return new FfmpegError(
        `${this.#what} needs ${this.#program}, which is not installed (not found on PATH): install it with \`${FFMPEG_INSTALL}\` (Debian, Ubuntu; it brings ffmpeg and ffprobe)`,
      );
    if (this.#spawnError)
      return new FfmpegError(`${this.#what}: ${this.#program} could not run: ${this.#spawnError.message}`);
    const how = exit.signal ? `was ended by ${exit.signal}` : `failed (exit ${exit.code})`;
    const said = this.#stderr.trim();
    return new FfmpegError(
      `${this.#what}: ${this.#program} ${this.#killed ? 'was stopped' : how}${said ? `: ${said.split('\n').slice(-6).join(' | ')}` : ''}`,
    );
  }
}
