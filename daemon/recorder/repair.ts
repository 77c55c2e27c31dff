import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import {
  BagError,
  decompressHandlers,
  emptyDb3,
  formatMetadata,
  listedFiles,
  naturalOrder,
  NO_START,
  parseMetadata,
  recordingFiles,
  sqliteDamaged,
  SqliteFileReader,
  type BagFileInfo,
  type BagMetadata,
  type BagTopic,
} from '../bags/index.ts';
import { diskSpaceText, isDiskFull } from '../util/index.ts';
import { checkNothingRecorded, cutOffAtStart, listBag, writeEmptySplit } from './repair-empty.ts';
import { addTopics, describes, splitInfo } from './repair-metadata.ts';
import { bagMetadata } from './bag-metadata.ts';
import { liveRecorder, RECORDING_MARKER } from './recording-marker.ts';
import { fsSegmentIO, type SegmentIO } from './segment-io.ts';
import { keepBackup, messageCount, repairSplit, scanFile, type FileRepair, type Scan } from './split-repair.ts';
import { sweepStaleTempFiles } from './stale-temp-files.ts';

export type { FileRepair } from './split-repair.ts';

export interface BagRepair {
  dir: string;
  /** sqlite3 bags are only checked, never rewritten. */
  storage: 'mcap' | 'sqlite3';
  files: FileRepair[];
  messageCount: number;
  /** Whether metadata.yaml was written: not when it already listed the splits with the messages they hold. */
  metadataRewritten: boolean;
  /** Where the old metadata.yaml was kept (one the recorder did not write, rewritten). */
  metadataBackup?: string;
  /**
   * Temporary files of atomic writes whose writer died before renaming them (`metadata.yaml.<pid>.<random>.tmp`),
   * removed.
   */
  tempFilesRemoved?: string[];
  /** Files the old metadata.yaml listed that are not in the bag (left off the new one). */
  missingListed?: string[];
  /** Nothing was recorded: the bag holds no message, and is finished as an empty bag (one empty split, listed). */
  empty?: boolean;
  /** The bag's `.recording` marker was removed: it is closed now. */
  markerRemoved?: boolean;
  /** Files in the directory that are another recording's (not named `<bag>_<i>.mcap`), left as they are. */
  otherRecordings?: string[];
  /** One file was repaired on its own (`dir` is that file): no metadata.yaml was read or written. */
  lone?: boolean;
}

/**
 * A full disk stopped a repair: every split is whole or as it was (a split is rewritten beside itself and
 * renamed over), and no backup of an unchanged file is left. `detail` says what it was writing and how much
 * room that takes, for callers that word the rest themselves (the recorder retries on its own).
 */
export class RepairDiskFullError extends BagError {
  readonly code: string;
  /** The error, with its code (`ENOSPC: no space left on device, write`). */
  readonly reason: string;
  /** What the repair was writing, and the room that takes. */
  readonly doing: string;
  constructor(dir: string, error: NodeJS.ErrnoException, doing: string) {
    const reason = `${error.code && !error.message.startsWith(`${error.code}: `) ? `${error.code}: ` : ''}${error.message}`;
    super(
      dir,
      `the disk is full${diskSpaceText(dir)}: ${reason}${doing ? `, ${doing}` : ''}. The repair stopped there, and each split is whole or as it was: nothing was lost. Free space on that disk (or copy the bag to one with room) and run auraison-edge bag repair again`,
    );
    this.code = error.code ?? 'ENOSPC';
    this.reason = reason;
    this.doing = doing;
  }
}

export interface RepairOptions {
  io?: SegmentIO;
  /**
   * The caller wrote the bag's metadata.yaml and its `.recording` marker (the recorder, repairing a bag it
   * left open): no backup of metadata.yaml is kept, and a marker holding a live pid is the caller's own.
   */
  ownMetadata?: boolean;
}

/**
 * Repairs a bag: each MCAP split that lacks its footer or is damaged is rewritten from the records it
 * still holds (a damaged stretch is skipped up to the next chunk whose CRC checks), then metadata.yaml is
 * rebuilt from the files. Whole splits are left as they are; a bag whose splits are all whole and whose
 * metadata.yaml lists them with their counts is not touched at all.
 *
 * It never loses what it could not read: a split rewritten without every byte of it read is first kept
 * as `<split>.orig` (or `.orig.1`, ...: an existing backup is never overwritten), and so is a
 * metadata.yaml the caller did not write (`metadata.yaml.orig`). When a split holds bytes but no message
 * a rewrite could keep (its header is unreadable and no chunk checks, say), the whole bag is left as it is
 * and a BagError says which file. 0-byte splits are left in place, unlisted. Safe to run again: an
 * interrupted repair leaves each split whole or original.
 */
export async function repairBag(dir: string, options: RepairOptions = {}): Promise<BagRepair> {
  const doing = { what: '' };
  try {
    return await repair(dir, options, doing);
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { dest?: string };
    if (!(error instanceof BagError) && isDiskFull(error)) throw new RepairDiskFullError(dir, e, doing.what);
    if (e.code !== 'EACCES' && e.code !== 'EPERM' && e.code !== 'EROFS') throw error;
    // Each split is rewritten to a temporary file and renamed over, so a repair stopped here left each whole or as it
    // was.
    throw new BagError(
      e.path ?? dir,
      `${e.code === 'EROFS' ? 'read-only file system' : 'permission denied'} (${e.syscall ?? 'access'}${e.dest ? ` to ${e.dest}` : ''}); the repair stopped there, and each split is whole or as it was. Run \`auraison-edge bag repair\` as a user who may read and write the bag (the daemon's user), or on a copy of it`,
    );
  }
}

/** `doing` says what the repair is writing, for the message of a full disk. */
async function repair(dir: string, options: RepairOptions, doing: { what: string }): Promise<BagRepair> {
  const { io = fsSegmentIO, ownMetadata = false } = options;
  if (extname(dir) === '.mcap' && existsSync(dir) && statSync(dir).isFile()) return repairLoneFile(dir, io, doing);
  const entries = listBag(dir);
  const recorder = ownMetadata ? undefined : liveRecorder(dir);
  if (recorder !== undefined) {
    throw new BagError(
      dir,
      `is being recorded by process ${recorder} (its ${RECORDING_MARKER} marker says so): not modified, since a repair now would race the recorder. The recorder finishes the bag itself when it stops; to repair it by hand, stop the daemon first`,
    );
  }
  const marker = entries.includes(RECORDING_MARKER);
  const metaPath = join(dir, 'metadata.yaml');
  const { previous, metaError } = readPreviousMetadata(metaPath, entries.includes('metadata.yaml'));
  if (previous?.compressionMode.toUpperCase() === 'FILE')
    throw new BagError(
      dir,
      "was recorded with compression_mode FILE (each split compressed whole, <split>.mcap.zstd): bag repair rewrites only plain .mcap splits, and nothing was modified. bag info, import and play read such a bag as it is; to repair one, decompress each split (`zstd -d <split>.mcap.zstd`), list the .mcap files in metadata.yaml with compression_mode set to '', and run bag repair again",
    );
  // Only the splits of one recording are repaired and listed as the bag: another recording's files are left alone.
  const { splits: names, others } = recordingFiles(
    dir,
    entries.filter((f) => extname(f) === '.mcap').sort(naturalOrder),
    previous ? listedFiles(previous) : [],
  );
  const leftAlone = others.length > 0 ? { otherRecordings: others } : {};
  if (names.length === 0) {
    const db3 = entries.filter((f) => extname(f) === '.db3').sort(naturalOrder);
    if (db3.length > 0) return checkSqliteBag(dir, db3);
    checkNothingRecorded(dir, marker, previous, metaError);
  }
  const decompress = await decompressHandlers();

  // Everything is read before anything is written, so a split that can't be read leaves the bag as it was.
  const scans = new Map<string, Scan>();
  for (const name of names) scans.set(name, await scanFile(join(dir, name), decompress));
  // A split cut off before its first record was whole (killed while writing its header or first chunk) holds
  // no message that was ever durable: it is finished as an empty split, its bytes kept as <split>.orig.
  const unreadable = [...scans].filter(
    ([name, s]) => s.size > 0 && messageCount(s) === 0 && s.damage.length > 0 && !cutOffAtStart(join(dir, name), s),
  );
  if (unreadable.length > 0) throw refusal(dir, unreadable);
  const swept = sweepStaleTempFiles(dir);
  const tempFilesRemoved = swept.length > 0 ? { tempFilesRemoved: swept } : {};

  const result: FileRepair[] = [];
  const files: BagFileInfo[] = [];
  const topics = new Map<string, BagTopic>();
  for (const name of names) {
    const scan = scans.get(name)!;
    const repaired = await repairSplit(join(dir, name), scan, decompress, io, doing);
    result.push(repaired);
    if (repaired.state === 'empty') continue;
    files.push(splitInfo(name, scan, repaired.messages));
    addTopics(topics, scan);
  }
  const empty = files.every((f) => f.messageCount === 0);
  if (files.length === 0) {
    // Nothing was recorded, and no split is left to list: the bag gets one empty split, as rosbag2 finishes a
    // bag stopped before its first message (so `ros2 bag info` and `ros2 bag play` open it), written over a
    // 0-byte split where there is one (nothing to lose there).
    const name = names[0] ?? `${basename(dir)}_0.mcap`;
    doing.what = `writing the empty split ${name}`;
    await writeEmptySplit(join(dir, name), io);
    const at = result.findIndex((f) => f.file === join(dir, name));
    const created: FileRepair = {
      file: join(dir, name),
      state: 'created',
      messages: 0,
      droppedBytes: 0,
      droppedMessages: 0,
      damage: [],
    };
    if (at >= 0) result[at] = created;
    else result.push(created);
    files.push({ path: name, startingTimeNs: NO_START, durationNs: 0n, messageCount: 0 });
  }
  const listed = previous ? listedFiles(previous) : [];
  const missing = listed.filter((p) => !names.includes(basename(p)));
  const closed = {
    ...(empty ? { empty } : {}),
    ...(marker ? { markerRemoved: true } : {}),
    ...(missing.length > 0 ? { missingListed: missing } : {}),
  };
  if (describes(previous, files)) {
    if (marker) rmSync(join(dir, RECORDING_MARKER), { force: true });
    return {
      dir,
      storage: 'mcap',
      files: result,
      messageCount: previous!.messageCount,
      metadataRewritten: false,
      ...tempFilesRemoved,
      ...leftAlone,
      ...closed,
    };
  }
  const meta = bagMetadata(files, [...topics.values()], {
    customData: previous?.customData ?? {},
    rosDistro: previous?.rosDistro || 'jazzy',
  });
  doing.what = 'writing metadata.yaml (the splits are repaired; the next repair lists them)';
  const metadataBackup = existsSync(metaPath) && !ownMetadata ? await keepBackup(metaPath) : undefined;
  try {
    await io.writeAtomic(metaPath, formatMetadata(meta));
  } catch (error) {
    if (metadataBackup) await unlink(metadataBackup).catch(() => undefined); // the old one is still in place
    throw error;
  }
  // Last: a repair killed before here leaves the marker, and the next one finishes the job.
  if (marker) rmSync(join(dir, RECORDING_MARKER), { force: true });
  return {
    dir,
    storage: 'mcap',
    files: result,
    messageCount: meta.messageCount,
    metadataRewritten: true,
    ...(metadataBackup ? { metadataBackup } : {}),
    ...tempFilesRemoved,
    ...leftAlone,
    ...closed,
  };
}

/**
 * Repairs one .mcap file given on its own (a bare recording, or one of several in a directory): the file is
 * rewritten as a split would be, and no metadata.yaml is written, since the directory is not known to be its bag.
 */
async function repairLoneFile(file: string, io: SegmentIO, doing: { what: string }): Promise<BagRepair> {
  const decompress = await decompressHandlers();
  const scan = await scanFile(file, decompress);
  if (scan.size > 0 && messageCount(scan) === 0 && scan.damage.length > 0 && !cutOffAtStart(file, scan))
    throw refusal(dirname(file), [[basename(file), scan]], true);
  const repaired = await repairSplit(file, scan, decompress, io, doing);
  return {
    dir: file,
    storage: 'mcap',
    files: [repaired],
    messageCount: repaired.messages,
    metadataRewritten: false,
    lone: true,
  };
}

/** The bag's metadata.yaml as it was (undefined, with the error, when a crash tore it: it is rebuilt). */
function readPreviousMetadata(
  metaPath: string,
  listed: boolean,
): { previous: BagMetadata | undefined; metaError: Error | undefined } {
  if (listed && !statSync(metaPath).isFile()) {
    throw new BagError(
      metaPath,
      'is not a file: not modified, nor is anything else in the bag. Move it out of the bag directory, and bag repair writes a metadata.yaml from the files',
    );
  }
  try {
    return {
      previous: existsSync(metaPath) ? parseMetadata(readFileSync(metaPath, 'utf8'), metaPath) : undefined,
      metaError: undefined,
    };
  } catch (error) {
    // a metadata.yaml torn by the crash is rebuilt from the files
    return { previous: undefined, metaError: error as Error };
  }
}

/**
 * A sqlite3 bag is not rewritten here (SQLite recovers its own journal on open), but it is checked: a file
 * that fails SQLite's quick_check is a BagError saying so and what can salvage it, rather than "all is well".
 */
async function checkSqliteBag(dir: string, names: string[]): Promise<BagRepair> {
  const files: FileRepair[] = [];
  for (const name of names) {
    const path = join(dir, name);
    if (statSync(path).size === 0)
      throw new BagError(path, emptyDb3('not modified (bag repair rewrites only MCAP files)'));
    const finding = SqliteFileReader.quickCheck(path);
    if (finding)
      throw new BagError(path, sqliteDamaged(path, finding, 'not modified (bag repair rewrites only MCAP files)'));
    const reader = await SqliteFileReader.open(path);
    try {
      const messages = (await reader.summary())?.messageCount ?? 0;
      files.push({ file: path, state: 'intact', messages, droppedBytes: 0, droppedMessages: 0, damage: [] });
    } finally {
      await reader.close();
    }
  }
  return {
    dir,
    storage: 'sqlite3',
    files,
    messageCount: files.reduce((n, f) => n + f.messages, 0),
    metadataRewritten: false,
  };
}

/** The error for splits that hold bytes but no message a rewrite could keep: the first one named, the others listed. */
function refusal(dir: string, unreadable: [string, Scan][], lone = false): BagError {
  const [name, scan] = unreadable[0]!;
  const first = scan.damage[0]!;
  const read = [...scan.counts.values()].reduce((n, c) => n + c, 0);
  const cause = scan.header ? `${first.problem} at byte ${first.offset}` : `header unreadable: ${first.problem}`;
  const what =
    read > 0
      ? `its ${read} readable messages lost the channel records they need to the damage (${cause})`
      : scan.header
        ? `no message in it can be read (${cause})`
        : `header unreadable (${first.problem}) and no chunk in it checks`;
  const others =
    unreadable.length > 1
      ? ` (nor from ${unreadable
          .slice(1)
          .map(([n]) => n)
          .join(', ')})`
      : '';
  if (lone) return new BagError(join(dir, name), `${what}; not modified. Try \`mcap recover\` on a copy of it`);
  return new BagError(
    join(dir, name),
    `${what}${others}; not modified, and nothing else in the bag either. Try \`mcap recover\` on a copy of it, or move it out of the bag directory and run \`auraison-edge bag repair\` again for the rest`,
  );
}
