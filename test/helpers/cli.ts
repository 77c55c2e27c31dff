import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ROOT } from './paths.ts';
import { waitFor } from './wait.ts';

// The paths and temporary folders, for the many tests that import them from here with the runners.
export { FIXTURES, ROOT, tempDir } from './paths.ts';

export const BIN = join(ROOT, 'bin', 'auraison-edge.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `auraison-edge ...args` as a user would, in `cwd`, and collects its output. */
export function runCli(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {},
): Promise<CliResult> {
  const { cwd = ROOT, env = {}, timeoutMs = 120_000, input } = options;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `auraison-edge ${args.join(' ')} did not exit within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`,
        ),
      );
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}

/** A long-running `auraison-edge` (the daemon, `sim --stay`, `central serve`) started by startCli. */
export interface CliChild {
  child: ChildProcess;
  /** Its output so far. */
  out: { stdout: string; stderr: string };
  /** Its exit code (null when a signal ended it). */
  ended: Promise<number | null>;
  /** Resolves once stdout holds `text`; fails naming it, with the output, after `timeoutMs`. */
  printed(text: string, timeoutMs?: number): Promise<void>;
}

/** Starts `auraison-edge ...args` as a user would, in `cwd`, for a test that acts on it while it runs. */
export function startCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliChild {
  const { cwd = ROOT, env = {} } = options;
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const ended = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const printed = (text: string, timeoutMs = 90_000) =>
    waitFor(
      () => out.stdout.includes(text),
      `auraison-edge ${args.join(' ')} to print "${text}"\n${out.stdout}\n${out.stderr}`,
      timeoutMs,
    );
  return { child, out, ended, printed };
}

/**
 * The PATH of a user's shell in a fresh checkout: this Node.js and the system's directories, no node_modules/.bin (npm
 * test puts it there), so no `auraison-edge` of its own.
 */
export const USER_PATH = [dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(':');

/** Runs a command line the CLI or a doc prints, as written, in bash in `cwd`, with USER_PATH. */
export function runShellLine(line: string, options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<CliResult> {
  const { cwd, env = {} } = options;
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', line], {
      cwd,
      env: {
        ...process.env,
        ...env,
        PATH: USER_PATH,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/**
 * Writes a config for a daemon in a test: the API and Foxglove on free ports (tests run in parallel, and
 * the defaults 7400 and 8765 would collide), warnings only in the log, plus `extra` YAML.
 */
export function testConfig(dir: string, extra = ''): string {
  const path = join(dir, 'edge.yaml');
  writeFileSync(path, `log:\n  level: warn\napi:\n  port: 0\nfoxglove:\n  port: 0\n${extra}`);
  return path;
}

/**
 * Runs `auraison-edge ...args` through the CLI's main() in this process: the same code as the binary,
 * without a process start (about 2 s each on CI's machine). For cases where the process boundary is not
 * what is under test; daemon logs still go to this process's stderr, not into `stderr`.
 */
export async function runMain(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  const { cwd = ROOT, env = {} } = options;
  const { main } = await import('../../daemon/cli/main.ts');
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env: { ...process.env, ...env },
    cwd,
  });
  return { code, signal: null, stdout, stderr };
}
