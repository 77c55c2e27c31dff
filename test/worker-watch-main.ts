import { appendFileSync, readFileSync } from 'node:fs';
import { ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Reporter } from 'vitest/node';

/** The watch's log of the vitest run whose main process is `vitestPid`. */
function logOf(vitestPid: number): string {
  return join(tmpdir(), `auraison-edge-vitest-workers-${vitestPid}.log`);
}

/** Appends `line` (ending in a newline), stamped, to the watch's log of the vitest run of main process `vitestPid`. */
export function noteWorker(vitestPid: number, line: string): void {
  try {
    appendFileSync(logOf(vitestPid), `${new Date().toISOString()} ${line}`);
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

/**
 * The workers of the run of main process `vitestPid` that ended other than by vitest's SIGTERM or exit code 0, each
 * with how it ended and the last test files it started, read from the watch's log: one line each, none when all
 * ended as vitest ends them. The stderr line written when one ended comes mid-run, where a report that keeps only
 * the output's tail loses it; this is for the end of the run.
 */
export function abnormalWorkerEnds(vitestPid: number, lastFiles = 3): string[] {
  let text: string;
  try {
    text = readFileSync(logOf(vitestPid), 'utf8');
  } catch {
    return [];
  }
  const started = new Map<string, string[]>();
  const ends: string[] = [];
  for (const line of text.split('\n')) {
    const start = /^(\S+) vitest worker (\d+): starts a test file \(last test file: (.*)\)$/.exec(line);
    if (start) started.set(start[2]!, [...(started.get(start[2]!) ?? []), start[3]!].slice(-lastFiles));
    const end = /^(\S+) vitest worker (\d+): ended, (.*)$/.exec(line);
    if (end && end[3] !== 'signal SIGTERM' && end[3] !== 'exit code 0') {
      const files = started.get(end[2]!) ?? [];
      ends.push(
        `vitest worker ${end[2]} ended at ${end[1]}, ${end[3]}; the last test files it started: ${files.join(', ') || '(none)'}`,
      );
    }
  }
  return ends;
}

/** A reporter that ends the run with abnormalWorkerEnds(), so that CI's tail says how a worker died. */
export class WorkerEndSummary implements Reporter {
  onTestRunEnd(): void {
    const ends = abnormalWorkerEnds(process.pid);
    if (ends.length > 0)
      process.stdout.write(
        `\nvitest worker processes that ended abnormally (${logOf(process.pid)}):\n  ${ends.join('\n  ')}\n`,
      );
  }
}

export default WorkerEndSummary;
