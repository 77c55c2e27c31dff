import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Daemon, DaemonStatus } from '../daemon.ts';

/** Where a running daemon leaves its status, for `auraison-edge status` when no API answers. */
export function statusFilePath(dataDir: string): string {
  return join(dataDir, 'run', 'status.json');
}

/** How often the status file is rewritten; a robot's flash should not take a write every second for months. */
export const STATUS_FILE_PERIOD_MS = 5000;

/**
 * Writes the daemon's status every `periodMs`, atomically (write then rename), so a reader never sees a
 * half-written file. Returns a function that stops it and writes the final state.
 */
export function startStatusFile(daemon: Daemon, periodMs = STATUS_FILE_PERIOD_MS): (final: 'stopped') => void {
  const path = statusFilePath(daemon.dataDir);
  mkdirSync(join(daemon.dataDir, 'run'), { recursive: true });
  let failing = false;
  const write = (state: 'running' | 'stopped'): void => {
    const body = JSON.stringify({ state, written_at: new Date().toISOString(), ...daemon.status() }, null, 2);
    try {
      writeFileSync(`${path}.tmp`, body);
      renameSync(`${path}.tmp`, path);
      failing = false;
    } catch (error) {
      // Once per failure streak (a full disk would otherwise log this every period).
      if (!failing) daemon.log.warn({ err: (error as Error).message, path }, 'cannot write the status file');
      failing = true;
    }
  };
  write('running');
  const timer = setInterval(() => write('running'), periodMs);
  timer.unref();
  return (final) => {
    clearInterval(timer);
    write(final);
  };
}

export type StatusFile = DaemonStatus & { state: 'running' | 'stopped'; written_at: string };

export function readStatusFile(dataDir: string): StatusFile | undefined {
  try {
    return JSON.parse(readFileSync(statusFilePath(dataDir), 'utf8')) as StatusFile;
  } catch {
    return undefined; // no daemon has run with this data dir yet
  }
}
