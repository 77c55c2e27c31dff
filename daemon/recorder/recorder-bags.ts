import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Static } from 'typebox';
import type { Logger } from 'pino';
import type { Bus } from '../bus/index.ts';
import type { DefinitionsRegistry } from '../bus/index.ts';
import { parseMetadata } from '../bags/index.ts';
import { typeDescriptionHash } from '../bus/index.ts';
import type { RecorderConfig } from '../config/index.ts';
import { BagWriter } from './bag-writer.ts';
import type { Compressor } from './chunk-compression.ts';
import { isFullDisk } from './recording-state.ts';
import { repairBag, RepairDiskFullError } from './repair.ts';
import type { SegmentIO } from './segment-io.ts';
import { sweepStaleTempFiles } from './stale-temp-files.ts';
import { RECORDING_MARKER } from './recording-marker.ts';
import { errorText } from '../util/index.ts';

export { RECORDING_MARKER } from './recording-marker.ts';

export interface RecorderBagsOptions {
  bus: Bus;
  definitions: DefinitionsRegistry;
  log: Logger;
  bagsDir: string;
  settings: Static<typeof RecorderConfig>;
  io: SegmentIO;
  onSplitClosed?: (file: string, bagDir: string) => void;
}

/**
 * The bag directories a recorder writes. Each carries RECORDING_MARKER from its creation until it is
 * closed cleanly; a bag left with it (abandoned after an I/O error, or by a recorder killed mid-write) is
 * repaired before recording resumes, or at the next start. Callers must wait for `settled()` before they
 * take the compressor away: the bags closing in the background still use it.
 */
export class RecorderBags {
  readonly #io: SegmentIO;
  readonly #log: Logger;
  readonly #bagsDir: string;
  readonly #onSplitClosed: ((file: string, bagDir: string) => void) | undefined;
  readonly #definitions: DefinitionsRegistry;
  readonly #settings: Static<typeof RecorderConfig>;
  readonly #bus: Bus;
  #opened: string[] = [];
  /** Bags closed by rotation, still finishing in the background, and the one stop closes. */
  #closing = new Map<BagWriter, Promise<void>>();
  /** Bags abandoned after an I/O error (or left open by a recorder before this one), waiting for their repair. */
  #abandoned: string[] = [];
  /**
   * The splits of abandoned bags that no metadata.yaml lists yet (the one cut off, those still closing), by
   * bag: retention leaves them alone until the repair lists them and hands them to the lakehouse. Deleted
   * before that (to make room on a full disk), a split's messages were gone, and the repair then said the
   * bag held none.
   */
  #unfinished = new Map<string, string[]>();
  /** The abandoned bag being repaired now. */
  #repairing: string | undefined;
  #typeHashes = new Map<string, string | undefined>();

  constructor(options: RecorderBagsOptions) {
    const { io, log, bagsDir, onSplitClosed, definitions, settings, bus } = options;
    this.#io = io;
    this.#log = log;
    this.#bagsDir = bagsDir;
    this.#onSplitClosed = onSplitClosed;
    this.#definitions = definitions;
    this.#settings = settings;
    this.#bus = bus;
  }

  /** Bags opened, oldest first. */
  get opened(): readonly string[] {
    return this.#opened;
  }

  /**
   * The bags retention must leave alone besides the one being written (see Recorder.active), and the unfinished splits
   * of abandoned ones.
   */
  active(): { bags: string[]; closing: string[]; files: string[] } {
    return {
      bags: [...this.#abandoned],
      closing: [...[...this.#closing.keys()].map((w) => w.dir), ...(this.#repairing ? [this.#repairing] : [])],
      files: [...this.#unfinished.values()].flat(),
    };
  }

  /** Bags waiting for their repair. */
  get abandoned(): readonly string[] {
    return this.#abandoned;
  }

  /** A new bag directory, with its marker, and its writer. Throws the I/O error when it can't be made. */
  open(compressor: Compressor | undefined): BagWriter {
    const settings = this.#settings;
    // a full disk kept start() from making it
    if (!existsSync(this.#bagsDir)) mkdirSync(this.#bagsDir, { recursive: true });
    const dir = uniqueBagDir(this.#bagsDir);
    mkdirSync(dir);
    try {
      writeFileSync(join(dir, RECORDING_MARKER), `${process.pid}\n`);
    } catch (error) {
      rmSync(dir, { recursive: true, force: true }); // no empty bag left behind per failed retry
      throw error;
    }
    const writer = new BagWriter({
      dir,
      io: this.#io,
      compression: settings.compression,
      compressor,
      chunkSize: settings.chunk_size_bytes,
      chunkCrc: settings.chunk_crc,
      splitMaxBytes: settings.split_max_bytes,
      splitMaxDurationNs: BigInt(Math.round(settings.split_max_duration_s * 1e9)),
      schemaText: (type) => (this.#definitions.has(type) ? this.#definitions.schemaText(type) : undefined),
      typeHash: (type) => this.#typeHash(type),
      topicInfo: (topic) => {
        const type = this.#bus.topicType(topic);
        const qos = this.#bus.topicQos(topic);
        return type === undefined || qos === undefined ? undefined : { type, qos };
      },
      bagMaxSplits: settings.bag_max_splits,
      bagMaxDurationNs: BigInt(Math.round(settings.bag_max_duration_s * 1e9)),
      onSplitClosed: (file) => this.#onSplitClosed?.(file, dir),
    });
    this.#opened.push(dir);
    this.#log.info({ bag: dir }, 'recorder: recording');
    return writer;
  }

  /** Closes a full bag (rotation) in the background; one that fails keeps its marker and is repaired. */
  closeInBackground(full: BagWriter): void {
    const closing = full
      .close()
      .then(() => rmSync(join(full.dir, RECORDING_MARKER), { force: true }))
      .catch((error: unknown) => {
        // Left with its marker: repaired when recording resumes after an error, or at the next start.
        this.#abandon(full.dir, full.activeFiles);
        this.#log.error(
          { bag: full.dir, err: errorText(error) },
          'recorder: could not close a full bag cleanly; it will be repaired',
        );
      })
      .finally(() => this.#closing.delete(full));
    this.#closing.set(full, closing);
  }

  /** Closes the bag being written when recording stops; one that fails is left for the next start. */
  async close(writer: BagWriter): Promise<void> {
    // Closing: its last metadata.yaml write must see every deletion, so retention leaves the bag alone now.
    this.#closing.set(writer, Promise.resolve());
    try {
      await writer.close();
      rmSync(join(writer.dir, RECORDING_MARKER), { force: true });
    } catch (error) {
      this.#log.error(
        { bag: writer.dir, err: errorText(error) },
        'recorder: could not close the bag cleanly; it will be repaired on the next start',
      );
    } finally {
      this.#closing.delete(writer);
    }
  }

  /**
   * Closes the bag being written when free space runs below `min_free_bytes` (room for its last chunk, its
   * summary and metadata.yaml is what that margin is for): its splits are listed and handed to the
   * lakehouse at once, and retention may free their space, oldest first. Abandoned instead, the cut split
   * would need a repair, and the repair a copy of it, on a disk with no room to spare. A close that fails
   * anyway (the disk filled meanwhile) leaves the bag abandoned, as after a write that failed.
   */
  async closeOrAbandon(writer: BagWriter): Promise<void> {
    this.#closing.set(writer, Promise.resolve());
    try {
      await writer.close();
      rmSync(join(writer.dir, RECORDING_MARKER), { force: true });
    } catch (error) {
      this.#abandon(writer.dir, writer.activeFiles);
      this.#log.warn(
        { bag: writer.dir, err: errorText(error) },
        'recorder: could not close the bag on a nearly full disk; it is repaired before recording resumes',
      );
      await writer.abandon().catch(() => undefined);
    } finally {
      this.#closing.delete(writer);
    }
  }

  /** Resolves once the bags closing in the background are closed (or abandoned). */
  async settled(): Promise<void> {
    await Promise.all(this.#closing.values());
  }

  /** After an I/O error: the split being written is left for a repair, and so is the bag. */
  async abandon(writer: BagWriter): Promise<void> {
    this.#abandon(writer.dir, writer.activeFiles);
    try {
      await writer.abandon();
    } catch (abandonError) {
      this.#log.error(
        { bag: writer.dir, err: errorText(abandonError) },
        'recorder: could not close the abandoned bag; it is repaired when recording resumes',
      );
    }
  }

  /**
   * Repairs the abandoned bags before a resume, until `stop` says to stop. A bag stays on the list until
   * its repair works: one that failed for a full disk blocks the resume (returned with the bag, for the
   * caller to log: it is tried again after the backoff); one that failed otherwise is tried again at the
   * next resume.
   */
  async repairAbandoned(stop: () => boolean): Promise<{ error: NodeJS.ErrnoException; bag: string } | undefined> {
    const failed: string[] = [];
    while (this.#abandoned.length > 0 && !stop()) {
      const dir = this.#abandoned.shift()!;
      // A full disk is said once per retry, by the resume it blocks: a disk that stays full for a month
      // must not also log this bag's failed repair every minute.
      const error = await this.#repair(dir, { quietIfFull: true });
      if (!error) continue;
      failed.push(dir);
      if (isFullDisk(error as NodeJS.ErrnoException)) {
        this.#abandoned.unshift(...failed);
        return { error: error as NodeJS.ErrnoException, bag: dir };
      }
    }
    this.#abandoned.push(...failed);
    return undefined;
  }

  /**
   * At start: bags left open are repaired, and every bag loses the temporary files of writers killed
   * mid-write. A bag whose repair a full disk stopped joins the abandoned ones (repaired before recording
   * resumes, its unlisted splits kept from retention meanwhile); the first such failure is returned, for
   * the recorder to start stopped on it.
   */
  async repairLeftovers(): Promise<{ error: NodeJS.ErrnoException; bag: string } | undefined> {
    let blocked: { error: NodeJS.ErrnoException; bag: string } | undefined;
    for (const entry of readdirSync(this.#bagsDir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const dir = join(this.#bagsDir, entry.name);
      if (removeIfEmpty(dir)) {
        this.#log.warn(
          { bag: dir },
          'recorder: removed an empty bag directory (a recorder killed between making it and writing its .recording marker left it)',
        );
        continue;
      }
      try {
        const removed = sweepStaleTempFiles(dir);
        if (removed.length > 0)
          this.#log.warn(
            { bag: dir, removed },
            'recorder: removed temporary files left by writers that died before renaming them',
          );
      } catch (error) {
        // Leftovers cost a few KiB and confuse no reader: recording goes on, and the next start tries again.
        this.#log.error(
          { bag: dir, err: errorText(error) },
          'recorder: could not remove temporary files left in a bag',
        );
      }
      if (!existsSync(join(dir, RECORDING_MARKER))) continue;
      const error = (await this.#repair(dir, { quietIfFull: true })) as NodeJS.ErrnoException | undefined;
      if (error && isFullDisk(error)) {
        this.#abandon(dir, unlistedSplits(dir));
        this.#log.warn(
          { bag: dir, err: error.message },
          'recorder: a bag left open could not be repaired yet: the disk is full. It is repaired before recording resumes, and its splits are kept until then',
        );
        blocked ??= { error, bag: dir };
      }
    }
    return blocked;
  }

  #abandon(dir: string, unfinished: string[]): void {
    if (!this.#abandoned.includes(dir)) this.#abandoned.push(dir);
    this.#unfinished.set(dir, [...new Set([...(this.#unfinished.get(dir) ?? []), ...unfinished])]);
  }

  /**
   * Repairs a bag left open; returns the error when it could not be repaired (logged, but with `quietIfFull` a full
   * disk).
   */
  async #repair(dir: string, options: { quietIfFull?: boolean } = {}): Promise<Error | undefined> {
    this.#repairing = dir;
    try {
      const report = await repairBag(dir, { io: this.#io, ownMetadata: true });
      rmSync(join(dir, RECORDING_MARKER), { force: true });
      this.#unfinished.delete(dir); // listed now, and handed to the lakehouse below: retention's like any other
      if (report.empty) {
        // Killed before its first message reached the bag: finished as an empty bag, as a clean stop leaves one.
        this.#log.warn(
          { bag: dir },
          'recorder: a bag left open held no message (nothing was recorded); finished it as an empty bag',
        );
        return undefined;
      }
      const repaired = report.files.filter((f) => f.state === 'repaired');
      const backups = repaired.flatMap((f) => (f.backup ? [f.backup] : []));
      const dropped = repaired.reduce((n, f) => n + f.droppedBytes, 0);
      this.#log.warn(
        {
          bag: dir,
          repaired: repaired.map((f) => f.file),
          messages: report.messageCount,
          droppedBytes: dropped,
          backups,
        },
        'recorder: repaired a bag left open',
      );
      for (const f of report.files) if (f.messages > 0) this.#onSplitClosed?.(f.file, dir);
      return undefined;
    } catch (error) {
      // The bag keeps its marker: nothing in it was changed, and every start says so again until someone looks.
      if (options.quietIfFull && error instanceof RepairDiskFullError) {
        // Worded for health and the log, where recording resumes on its own once the repair has room (not `run bag
        // repair`).
        return Object.assign(
          new Error(`${error.reason}; repairing ${basename(dir)}${error.doing ? `: ${error.doing}` : ''}`),
          { code: error.code },
        );
      }
      if (options.quietIfFull && isFullDisk(error as NodeJS.ErrnoException)) return error as Error;
      this.#log.error(
        { bag: dir, err: errorText(error) },
        'recorder: a bag left open could not be repaired and was left as it was; recording goes on in a new bag. Run `auraison-edge bag repair` on it for the details',
      );
      return error as Error;
    } finally {
      this.#repairing = undefined;
    }
  }

  /** RIHS01 hashes per type: each new bag declares its topics again, and a hash parses the type's .msg text. */
  #typeHash(type: string): string | undefined {
    if (!this.#typeHashes.has(type)) this.#typeHashes.set(type, typeDescriptionHash(this.#definitions, type));
    return this.#typeHashes.get(type);
  }
}

/**
 * Removes `dir` if it holds nothing at all: open() makes a bag directory, then writes its marker, and a
 * recorder killed in between leaves it empty. Such a directory is no bag (`bag info` and `bag import
 * bags/*` fail on it) and nothing else would ever remove it. rmdir refuses a directory that is not empty,
 * so a file that appeared since it was listed is never lost.
 */
function removeIfEmpty(dir: string): boolean {
  try {
    if (readdirSync(dir).length > 0) return false;
    rmdirSync(dir);
    return true;
  } catch {
    return false; // unreadable, or no longer empty: left as it is (repair says what is wrong with it)
  }
}

/** The splits of a bag left open that its metadata.yaml does not list (all of them when it can't be read). */
function unlistedSplits(dir: string): string[] {
  let listed = new Set<string>();
  try {
    const meta = parseMetadata(readFileSync(join(dir, 'metadata.yaml'), 'utf8'), join(dir, 'metadata.yaml'));
    listed = new Set(
      (meta.relativeFilePaths.length > 0 ? meta.relativeFilePaths : meta.files.map((f) => f.path)).map((p) =>
        basename(p),
      ),
    );
  } catch {
    // None listed: every split waits for the repair.
  }
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.mcap') && !listed.has(f))
      .map((f) => join(dir, f));
  } catch {
    return [];
  }
}

/** `rosbag2_YYYY_MM_DD-HH_MM_SS`, as `ros2 bag record` names bags, with a suffix when taken. */
function uniqueBagDir(bagsDir: string): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  const base = `rosbag2_${d.getUTCFullYear()}_${p(d.getUTCMonth() + 1)}_${p(d.getUTCDate())}-${p(d.getUTCHours())}_${p(d.getUTCMinutes())}_${p(d.getUTCSeconds())}`;
  let name = base;
  for (let i = 1; existsSync(join(bagsDir, name)); i++) name = `${base}_${i}`;
  return join(bagsDir, name);
}
