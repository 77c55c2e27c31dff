import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runShellLine, USER_PATH } from './cli.ts';
import { ROOT } from './paths.ts';

/** A shell a walkthrough left running: what it wrote so far, a signal to its process group, and its exit code. */
export interface WalkthroughShell {
  out: { stdout: string; stderr: string };
  kill: (signal: NodeJS.Signals) => void;
  ended: Promise<number | null>;
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
  const run = (commands: string) => runShellLine(`${setup()}${commands}`, { cwd: ROOT, env: env() });
  const start = (commands: string): WalkthroughShell => {
    const child = spawn('bash', ['-c', `${setup()}${commands}`], {
      cwd: ROOT,
      detached: true,
      env: { ...process.env, ...env(), PATH: USER_PATH },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = { stdout: '', stderr: '' };
    child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
    // a daemon's log runs long: its tail is what a failure needs
    child.stderr.on('data', (d: Buffer) => (out.stderr = (out.stderr + d.toString()).slice(-50_000)));
    const shell = {
      out,
      kill: (signal: NodeJS.Signals) => {
        if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, signal);
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
