import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorText } from '../../daemon/util/index.ts';
import { type CliResult, USER_PATH } from './cli.ts';
import { ROOT } from './paths.ts';
import { waitFor } from './wait.ts';

/** A shell a walkthrough left running: what it wrote so far, a signal to its process group, and its exit code. */
export interface WalkthroughShell {
  out: { stdout: string; stderr: string };
  kill: (signal: NodeJS.Signals) => void;
  ended: Promise<number | null>;
  /** Set once it has exited and its output is all read. */
  closed: { code?: number | null; signal?: NodeJS.Signals | null };
}

/** A shell's output tails, for a failure's message. */
export const shellTails = (...shells: WalkthroughShell[]) =>
  shells.map((s) => `${s.out.stdout.slice(-3000)}\n${s.out.stderr.slice(-3000)}`).join('\n---\n');

/**
 * Waits for `shell` to exit (after a signal, or at its end) for `timeoutMs` at most; past it the shell's group is
 * killed and the failure names `what` with the shell's output, rather than a test's timeout that says nothing.
 */
export async function exited(shell: WalkthroughShell, what: string, timeoutMs = 60_000): Promise<number | null> {
  try {
    await waitFor(() => 'code' in shell.closed, what, timeoutMs);
  } catch (error) {
    shell.kill('SIGKILL');
    throw new Error(`${errorText(error)}\n${shellTails(shell)}`, { cause: error });
  }
  return shell.closed.code ?? null;
}

/** A docs page's ```sh blocks, in order, as written. */
export function shellBlocks(page: string): string[] {
  const text = readFileSync(join(ROOT, 'docs', page), 'utf8');
  return [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/**
 * Shells that run a walkthrough's commands as a user does, each started in the checkout with the page's setup lines
 * (`setup()`, read when each starts), the user's PATH and `env` over this process's: `run` waits for them to end,
 * `start` leaves them running in a process group of their own (a daemon, a node) until `kill`; `killAll` ends those
 * still running (SIGKILL), for an afterAll.
 */
export function walkthroughShells(setup: () => string, env: () => NodeJS.ProcessEnv = () => ({})) {
  const shells: WalkthroughShell[] = [];
  /** Runs `commands` to their end, `timeoutMs` at most (then a failure with their output). */
  const run = async (commands: string, timeoutMs = 600_000): Promise<CliResult> => {
    const shell = start(commands, Infinity);
    const code = await exited(shell, `the shell's commands to end: ${commands.trim().slice(0, 200)}`, timeoutMs);
    return { code, signal: shell.closed.signal ?? null, stdout: shell.out.stdout, stderr: shell.out.stderr };
  };
  const start = (commands: string, stderrKept = 50_000): WalkthroughShell => {
    const child = spawn('bash', ['-c', `${setup()}${commands}`], {
      cwd: ROOT,
      detached: true,
      env: { ...process.env, ...env(), PATH: USER_PATH },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = { stdout: '', stderr: '' };
    child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
    // a daemon's log runs long: its tail is what a failure needs
    child.stderr.on('data', (d: Buffer) => (out.stderr = (out.stderr + d.toString()).slice(-stderrKept)));
    const closed: WalkthroughShell['closed'] = {};
    child.on('close', (code, signal) => Object.assign(closed, { code, signal }));
    const shell = {
      out,
      closed,
      // the group while its output is open: a child the shell left may hold it after the shell exited
      kill: (signal: NodeJS.Signals) => {
        if ('code' in closed) return;
        try {
          process.kill(-child.pid!, signal);
        } catch {
          // the group has gone meanwhile
        }
      },
      ended: new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code))),
    };
    shells.push(shell);
    return shell;
  };
  const killAll = () => {
    for (const shell of shells) shell.kill('SIGKILL');
  };
  return { run, start, killAll };
}
