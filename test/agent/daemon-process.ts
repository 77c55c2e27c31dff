import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { Readable } from 'node:stream';
import { BIN } from '../helpers/cli.ts';
import { waitForValue } from '../helpers/wait.ts';

/**
 * Appends each JSON line a stream writes (a daemon's pino log on stderr) to `into`; a line that is not JSON as `{msg}`.
 */
export function collectJsonLines<T extends { msg?: unknown }>(stream: Readable, into: T[]): void {
  let buffer = '';
  stream.on('data', (d: Buffer) => {
    buffer += d.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    for (const line of lines) {
      try {
        into.push(JSON.parse(line) as T);
      } catch {
        into.push({ msg: line } as T);
      }
    }
  });
}

/** `auraison-edge run` as a child process, with its JSON log lines and a way to wait for one. */
export class DaemonProcess {
  readonly logs: Record<string, unknown>[] = [];
  readonly child: ChildProcessWithoutNullStreams;
  readonly exited: Promise<number | null>;

  /** `env`: the daemon's whole environment (a ROS 2 one, test/ros2); this process's by default. */
  constructor(cwd: string, config: string, env: NodeJS.ProcessEnv = process.env) {
    this.child = spawn(process.execPath, [BIN, 'run', '--config', config], { cwd, env });
    collectJsonLines(this.child.stderr, this.logs);
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
  }

  async waitForLog(
    predicate: (line: Record<string, unknown>) => boolean,
    what: string,
    timeoutMs = 30_000,
  ): Promise<Record<string, unknown>> {
    const found = await waitForValue(
      () => this.logs.find(predicate) ?? (this.child.exitCode !== null && 'exited'),
      what,
      timeoutMs,
    ).catch(() => undefined);
    if (found !== undefined && found !== 'exited') return found;
    throw new Error(`no log line for ${what}; got:\n${this.logs.map((l) => JSON.stringify(l)).join('\n')}`);
  }

  running(): Promise<Record<string, unknown>> {
    return this.waitForLog((l) => l.msg === 'daemon running', 'daemon running');
  }

  /** kill -9: no stop, no flush. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }
}
