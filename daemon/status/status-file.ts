import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Daemon, DaemonStatus } from '../daemon.ts';

/** Where a running daemon leaves its status, for `auraison-edge status` when no API answers. */
export function statusFilePath(dataDir: string): string {
  return join(dataDir, 'run', 'status.json');
}

/**
 * Writes the daemon's status every `periodMs`, atomically (write then rename), so a reader never sees a
 * half-written file. Returns a function that stops it and writes the final state.
 */
export function startStatusFile(daemon: Daemon, periodMs = 1000): (final: 'stopped') => void {
  const path = statusFilePath(daemon.dataDir);
  mkdirSync(join(daemon.dataDir, 'run'), { recursive: true });
  const write = (state: 'running' | 'stopped'): void => {
    const body = JSON.stringify({ state, written_at: new Date().toISOString(), ...daemon.status() }, null, 2);
    try {
      writeFileSync(`${path}.tmp`, body);
      renameSync(`${path}.tmp`, path);
    } catch (error) {
      daemon.log.warn({ err: (error as Error).message, path }, 'cannot write the status file');
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
