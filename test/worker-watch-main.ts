import { appendFileSync } from 'node:fs';
import { ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Appends `line` (ending in a newline), stamped, to the watch's log of the vitest run of main process `vitestPid`. */
export function noteWorker(vitestPid: number, line: string): void {
  try {
    appendFileSync(
      join(tmpdir(), `auraison-edge-vitest-workers-${vitestPid}.log`),
      `${new Date().toISOString()} ${line}`,
    );
  } catch {
    // the log is a help, never a failure
  }
}

/**
 * The main process's half of test/worker-watch.ts: how each vitest worker process ended, as its parent sees it
 * (the exit code, or the signal that ended it), which a worker cannot say of itself when a SIGKILL or a native
 * exit() ends it. Written to the same log; to stderr too when it was neither vitest's SIGTERM nor exit code 0.
 * It wraps ChildProcess's emit in this process only (vitest's own, where globalSetup runs).
 */
export function watchWorkerExits(): void {
  // globalSetup runs once per vitest project, all in this one process
  const state = globalThis as { auraisonWorkerExits?: true };
  if (state.auraisonWorkerExits) return;
  state.auraisonWorkerExits = true;
  const emit = ChildProcess.prototype.emit;
  ChildProcess.prototype.emit = function (this: ChildProcess, event: string | symbol, ...args: unknown[]) {
    if (event === 'exit' && this.spawnargs.some((a) => a.endsWith('forks.js'))) {
      const [code, signal] = args as [number | null, NodeJS.Signals | null];
      const line = `vitest worker ${this.pid}: ended, ${signal === null ? `exit code ${code}` : `signal ${signal}`}\n`;
      noteWorker(process.pid, line);
      if (signal !== 'SIGTERM' && code !== 0) process.stderr.write(line);
    }
    return Reflect.apply(emit, this, [event, ...args]) as boolean;
  } as typeof emit;
}
