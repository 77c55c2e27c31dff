import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { formatMetadata, parseMetadata, RETENTION_DELETED_KEY } from '../bags/index.ts';
import { tempName } from '../recorder/index.ts';

/**
 * Takes a deleted split out of its bag's metadata.yaml; removes the bag directory once it holds no split.
 * A bag the recorder holds (`live`) is left alone: the recorder rewrites its metadata.yaml itself and
 * notes the split as deleted, and two writers of one file would undo each other's edits.
 */
export function dropFromMetadata(file: string, live: ReadonlySet<string>): void {
  const dir = dirname(file);
  if (live.has(dir)) return;
  const name = relative(dir, file);
  const metaPath = join(dir, 'metadata.yaml');
  if (!existsSync(dir)) return;
  const left = readdirSync(dir).filter((f) => f.endsWith('.mcap') || f.endsWith('.db3'));
  if (left.length === 0) {
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  if (!existsSync(metaPath)) return;
  try {
    const meta = parseMetadata(readFileSync(metaPath, 'utf8'), metaPath);
    const gone = meta.files.find((f) => f.path === name);
    if (!gone && !meta.relativeFilePaths.includes(name)) return; // taken off already (a pass that ran again)
    meta.relativeFilePaths = meta.relativeFilePaths.filter((p) => p !== name);
    meta.files = meta.files.filter((f) => f.path !== name);
    if (gone) meta.messageCount -= gone.messageCount;
    meta.customData = {
      ...meta.customData,
      [RETENTION_DELETED_KEY]: [meta.customData[RETENTION_DELETED_KEY], name].filter(Boolean).join(','),
    };
    writeAtomic(metaPath, formatMetadata(meta));
  } catch {
    // an unreadable metadata.yaml is left as it is: readers fall back to the files present
  }
}

function writeAtomic(path: string, text: string): void {
  const tmp = tempName(path);
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}

/** Every file under `dir`, recursively (absolute paths). */
export function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}
