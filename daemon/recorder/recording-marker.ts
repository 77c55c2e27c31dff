import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { alive } from './stale-temp-files.ts';

/** A bag directory holding this file was being recorded and was not closed cleanly. It holds the recorder's pid. */
export const RECORDING_MARKER = '.recording';

/**
 * The pid of the process recording the bag in `dir` now, or undefined when no live process is: no marker,
 * a marker without a pid, or one whose process is gone. A live process with that pid that started after
 * the marker was written is another one that reused the pid (after a reboot, say), not the recorder.
 */
export function liveRecorder(dir: string): number | undefined {
  const path = join(dir, RECORDING_MARKER);
  let text: string;
  let writtenMs: number;
  try {
    text = readFileSync(path, 'utf8');
    writtenMs = statSync(path).mtimeMs;
  } catch {
    return undefined; // no marker (or unreadable: it tells nothing, and repair reports the bag's own files)
  }
  const pid = Number(text.trim());
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || !alive(pid)) return undefined;
  const started = processStartMs(pid);
  // A second's slack: the start time is in clock ticks, and an mtime may read a little behind.
  return started === undefined || started <= writtenMs + 1000 ? pid : undefined;
}

/**
 * When a process started (Linux: /proc/<pid>/stat's starttime after /proc/stat's btime), or undefined where that can't
 * be read.
 */
function processStartMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (in parentheses, which may hold spaces): starttime is the 22nd field.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[22 - 3]);
    const btime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    // USER_HZ, what /proc reports ticks in, is 100 on every Linux architecture Node runs on.
    return Number.isFinite(ticks) && Number.isFinite(btime) ? btime * 1000 + (ticks / 100) * 1000 : undefined;
  } catch {
    return undefined;
  }
}
