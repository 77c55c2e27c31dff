import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Daemon } from '../daemon.ts';
import type { DaemonStatus } from '../lifecycle/index.ts';
import { errorText } from '../util/index.ts';

/** Where a running daemon leaves its status, for `auraison-edge status` when no API answers. */
export function statusFilePath(dataDir: string): string {
  return join(dataDir, 'run', 'status.json');
}

/** How often the status file is rewritten; a robot's flash should not take a write every second for months. */
export const STATUS_FILE_PERIOD_MS = 5000;

/**
 * The status file of a running daemon: `write()` rewrites it now (after a reload: `auraison-edge reload` waits on it).
 */
export interface StatusFileWriter {
  write(): void;
  /** Stops the periodic writes and writes the final state. */
  close(final: 'stopped'): void;
}

/**
 * Writes the daemon's status every `periodMs`, atomically (write then rename), so a reader never sees a
 * half-written file.
 */
export function startStatusFile(daemon: Daemon, periodMs = STATUS_FILE_PERIOD_MS): StatusFileWriter {
  const path = statusFilePath(daemon.dataDir);
  mkdirSync(join(daemon.dataDir, 'run'), { recursive: true });
  let failing = false;
  const write = (state: 'running' | 'stopped'): void => {
    const body = JSON.stringify(
      { state, written_at: new Date().toISOString(), ...freshnessStamp(), ...daemon.status() },
      null,
      2,
    );
    try {
      writeFileSync(`${path}.tmp`, body);
      renameSync(`${path}.tmp`, path);
      failing = false;
    } catch (error) {
      rmSync(`${path}.tmp`, { force: true }); // a full disk leaves it empty or cut short
      // Once per failure streak (a full disk would otherwise log this every period).
      if (!failing) daemon.log.warn({ err: errorText(error), path }, 'cannot write the status file');
      failing = true;
    }
  };
  write('running');
  const timer = setInterval(() => write('running'), periodMs);
  timer.unref();
  return {
    write: () => write('running'),
    close: (final) => {
      clearInterval(timer);
      write(final);
    },
  };
}

export type StatusFile = DaemonStatus & {
  state: 'running' | 'stopped';
  /** Wall time, for people: it steps with NTP, so the file's age is told by the next two fields. */
  written_at: string;
  /** CLOCK_MONOTONIC when written (ms); comparable only within one boot. */
  written_mono_ms?: number;
  /** The kernel's id of the boot the file was written in. */
  boot_id?: string;
};

/** CLOCK_MONOTONIC in ms (libuv's hrtime): one clock for every process of a boot, unlike performance.now. */
function bootMonotonicMs(): number {
  return Number(process.hrtime.bigint() / 1_000_000n);
}

function bootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined; // not Linux
  }
}

function freshnessStamp(): { written_mono_ms: number; boot_id?: string } {
  const id = bootId();
  return { written_mono_ms: bootMonotonicMs(), ...(id ? { boot_id: id } : {}) };
}

/**
 * How long ago the file was written, read by another process (`auraison-edge status`). Not by `written_at`:
 * the wall clock steps (years at the first NTP sync on a robot without an RTC), which made a running
 * daemon's file look stale after a step forward and a hung daemon's look fresh for as long as a step back.
 * Within one boot both processes read the same monotonic clock; a file from another boot is not fresh. A
 * file without these fields (an older daemon) falls back to the wall clock, where a time still to come (the
 * clock stepped back since) is an unknown age: not fresh.
 */
export function statusAgeMs(
  status: StatusFile,
  now: { wallMs: number; monoMs: number; bootId: string | undefined } = {
    wallMs: Date.now(),
    monoMs: bootMonotonicMs(),
    bootId: bootId(),
  },
): number {
  if (typeof status.written_mono_ms === 'number' && status.boot_id && now.bootId) {
    return status.boot_id === now.bootId ? Math.max(0, now.monoMs - status.written_mono_ms) : Infinity;
  }
  const age = now.wallMs - Date.parse(status.written_at);
  return Number.isNaN(age) || age < -FUTURE_SLACK_MS ? Infinity : Math.max(0, age);
}

/** How far a wall-clock `written_at` may read ahead of this clock (a writer's clock a little ahead). */
const FUTURE_SLACK_MS = 1000;

export function readStatusFile(dataDir: string): StatusFile | undefined {
  try {
    return JSON.parse(readFileSync(statusFilePath(dataDir), 'utf8')) as StatusFile;
  } catch {
    return undefined; // no daemon has run with this data dir yet
  }
}
