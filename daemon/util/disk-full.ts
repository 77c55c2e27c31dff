import { statfsSync } from 'node:fs';

/** ENOSPC or EDQUOT: as an errno from Node, or in the text of an error from DuckDB (its IO Error carries no code). */
export function isDiskFull(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return (
    code === 'ENOSPC' ||
    code === 'EDQUOT' ||
    (typeof message === 'string' && /No space left on device|Disk quota exceeded/.test(message))
  );
}

/**
 * How full the file system holding `path` is, for messages: ` (12 KiB free of 4.0 MiB)`, and ` (3 inodes
 * free of 200)` instead when bytes are left and inodes are not. Empty when statfs fails (the message stands
 * without it).
 */
export function diskSpaceText(path: string): string {
  try {
    const fs = statfsSync(path);
    const free = fs.bavail * fs.bsize;
    if (fs.files > 0 && fs.ffree < 16 && free >= 1024 * 1024)
      return ` (${fs.ffree} inodes free of ${fs.files}: a file system full of small files)`;
    return ` (${formatBytes(free)} free of ${formatBytes(fs.blocks * fs.bsize)})`;
  } catch {
    return '';
  }
}

export function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${Math.round(n / 1024)} KiB`;
}
