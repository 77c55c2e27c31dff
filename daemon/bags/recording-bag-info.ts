import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { metadataInfo, type BagInfo } from './bag-info.ts';
import { BagError } from './errors.ts';
import { listedFiles, parseMetadata, type BagMetadata } from './metadata.ts';
import { naturalOrder } from './open-bag.ts';
import { recordingFiles } from './recording-files.ts';

/**
 * What `bag info` shows of a bag that process `pid` is recording now, as `ros2 bag info` shows one: the figures of
 * its closed splits, which the recorder lists in metadata.yaml as each one closes, and its open split beside them.
 * The open split is not read: it has no footer until it closes, which is no damage.
 */
export function recordingBagInfo(dir: string, pid: number): BagInfo {
  const metaFile = join(dir, 'metadata.yaml');
  const meta = existsSync(metaFile) ? parseMetadata(readFileSync(metaFile, 'utf8'), metaFile) : undefined;
  const listed = meta ? listedFiles(meta).map((p) => basename(p)) : [];
  const present = readdirSync(dir)
    .filter((f) => extname(f) === '.mcap')
    .sort(naturalOrder);
  const { splits } = recordingFiles(dir, present, listed);
  const sized = (names: string[]) => names.map((f) => ({ path: join(dir, f), size: statSync(join(dir, f)).size }));
  const closed = sized(splits.filter((f) => listed.includes(f)));
  const open = sized(splits.filter((f) => !listed.includes(f)));
  if (closed.length === 0 && open.length === 0)
    throw new BagError(
      dir,
      `is being recorded by process ${pid}, and no message has reached it yet: run bag info again once one has`,
    );
  return { ...metadataInfo(dir, 'mcap', meta ?? NOTHING_CLOSED, closed), recording: { pid, open } };
}

/** The figures of a bag whose first split is still open. */
const NOTHING_CLOSED: BagMetadata = {
  version: 9,
  storageIdentifier: 'mcap',
  durationNs: 0n,
  startingTimeNs: 0n,
  messageCount: 0,
  topics: [],
  compressionFormat: '',
  compressionMode: '',
  relativeFilePaths: [],
  files: [],
  customData: {},
  rosDistro: '',
};
