import type { ChildProcess } from 'node:child_process';

/** Sends `signal` to a peer's process and resolves once it has exited (at once if it has already). */
export function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}
