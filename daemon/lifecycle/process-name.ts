import { readFileSync, writeFileSync } from 'node:fs';

/** The kernel keeps a thread's name in 16 bytes, its NUL included. */
const COMM_MAX = 15;

/**
 * Names the daemon's main thread, which is what `top`, `ps -e`, `pgrep` without -f and systemd's "Killing process
 * N (NAME)" show: Node.js 24 names it MainThread. Only the name changes; the command line (`ps -f`, `pgrep -f`)
 * stays as it was started. Linux only, through /proc/self/comm; elsewhere, or when /proc refuses, nothing changes.
 * Returns the name the thread has afterwards, undefined where it cannot be read.
 */
export function nameMainThread(name: string, comm = '/proc/self/comm'): string | undefined {
  if (name.length === 0 || Buffer.byteLength(name) > COMM_MAX)
    throw new Error(`a thread name is 1 to ${COMM_MAX} bytes: ${JSON.stringify(name)}`);
  try {
    writeFileSync(comm, name);
  } catch {
    // not Linux, or /proc read-only to us: the name stays
  }
  try {
    return readFileSync(comm, 'utf8').trimEnd();
  } catch {
    return undefined;
  }
}
