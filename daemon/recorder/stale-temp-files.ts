import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** `<name>.<pid>.<12 hex digits>.tmp`: what tempName (segment-io.ts) names an atomic write's temporary file. */
const TEMP_FILE = /^.+\.(\d+)\.[0-9a-f]{12}\.tmp$/;

/**
 * A temporary file this old is a dead writer's whatever its pid says: a writer renames it within
 * milliseconds, so a live process with that pid is another one that reused it (after a reboot, say).
 */
export const STALE_TEMP_MS = 60 * 60 * 1000;

/**
 * Removes from `dir` the temporary files of atomic writes (`metadata.yaml.<pid>.<random>.tmp`) whose
 * writer was killed between writing and renaming: those whose process is gone, this process's own from
 * before it started (its pid reused after a reboot), and any older than STALE_TEMP_MS. A live writer's file
 * is left alone. Returns the names removed; a file that went away meanwhile (its writer renamed it) is not
 * one of them.
 */
export function sweepStaleTempFiles(dir: string, now = Date.now()): string[] {
  const removed: string[] = [];
  const started = now - process.uptime() * 1000;
  for (const name of readdirSync(dir)) {
    const match = TEMP_FILE.exec(name);
    if (!match) continue;
    const path = join(dir, name);
    const pid = Number(match[1]);
    let mtimeMs: number;
    try {
      const st = statSync(path);
      if (!st.isFile()) continue;
      mtimeMs = st.mtimeMs;
    } catch {
      continue; // renamed or removed by its writer since the listing
    }
    // A second's slack: a file's mtime may read a little behind the clock that timed the process start.
    const dead = pid === process.pid ? mtimeMs < started - 1000 : !alive(pid);
    if (!dead && now - mtimeMs < STALE_TEMP_MS) continue;
    rmSync(path, { force: true });
    removed.push(name);
  }
  return removed;
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function alive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, and belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
