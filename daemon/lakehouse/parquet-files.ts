import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** The UTC date of a time in ns, as the `date=` partition names it. */
export function partitionDate(ns: bigint): string {
  return new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 10);
}

/** The `.parquet` files under `dir`, as paths relative to it. */
export function listParquet(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...listParquet(join(dir, e.name), join(prefix, e.name)));
    else if (e.name.endsWith('.parquet')) out.push(join(prefix, e.name));
  }
  return out;
}

/**
 * Moves staged files into `tablesDir` (same file system: renames), then removes the staging dir. Each file
 * is fsynced before its rename and each directory it lands in (and any made for it) after, so once the
 * caller commits the catalog rows a power cut can't leave a listed file empty or missing. The fsyncs run
 * on the thread pool (callers hold the catalog, and the daemon's loops must not wait on the disk): the
 * files' together, then the renames, then the directories'. `sync` is the fsync of one path (tests watch it).
 */
export async function commitStaged(
  staging: string,
  tablesDir: string,
  files: readonly string[],
  sync: (path: string) => Promise<void> = fsyncPath,
): Promise<string[]> {
  await Promise.all(files.map((rel) => sync(join(staging, rel))));
  const moved: string[] = [];
  const dirs = new Set<string>();
  try {
    for (const rel of files) {
      const to = join(tablesDir, rel);
      const made = mkdirSync(dirname(to), { recursive: true });
      // mkdir makes the first missing level and those below it: each new entry lives in its parent.
      if (made !== undefined) for (let d = dirname(to); d !== dirname(made); d = dirname(d)) dirs.add(dirname(d));
      renameSync(join(staging, rel), to);
      dirs.add(dirname(to));
      moved.push(to);
    }
    await Promise.all([...dirs].map((d) => sync(d)));
  } catch (error) {
    // A full disk (a rename may need a new directory block), EIO: the caller commits nothing, so what was
    // moved in must not stay, unlisted, where only a restart's sweep would find it.
    for (const p of moved) rmSync(p, { force: true });
    throw error;
  }
  rmSync(staging, { recursive: true, force: true });
  return moved;
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
