import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { DataDirError } from './lifecycle/index.ts';
import { PACKAGE_ROOT, errorText } from './util/index.ts';

/**
 * The format of the data dir this version writes and reads. Bump it when a change would make an older
 * version misread or damage what this one wrote (a journal frame it cannot parse, a catalog column it would
 * overwrite wrongly, a layout it would take for something else); an older version then refuses the data dir
 * instead of guessing. Additive changes an older version ignores safely (a new catalog column with a
 * default, a new record kind it skips) keep the number, so rolling back stays possible.
 *
 * 1: the first numbered format: `log/` journal segments (`u32 length | u32 CRC32 | JSON` frames), `bags/`
 * rosbag2 bags, `lakehouse/catalog.duckdb` (bags, projections, event_files; rows list their files by
 * absolute path under the data dir) with parquet under `lakehouse/tables/`, `run/` status files.
 * Data dirs from before the number existed have no `format.json` and are read as format 1.
 */
export const DATA_DIR_FORMAT = 1;

/** `<data_dir>/format.json`: which format the data dir holds, which version last wrote it, and where it was. */
export const FORMAT_FILE = 'format.json';

export interface DataDirFormat {
  /** The data dir's format (see DATA_DIR_FORMAT). */
  format: number;
  /** The auraison-edge version that last started a daemon on it, for people reading the file. */
  written_by: string;
  /** The data dir's path when that daemon ran: a different path now means it was moved or copied. */
  path: string;
}

const VERSION = (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/**
 * Reads `<data_dir>/format.json`: undefined when there is none (a new data dir, or one from a version
 * before the file existed). A format newer than this version's, or a file it cannot read, is refused: a
 * newer version wrote it, or something damaged it, and guessing could corrupt the data.
 */
export function readDataDirFormat(dataDir: string): DataDirFormat | undefined {
  const path = join(dataDir, FORMAT_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DataDirError(`data_dir ${dataDir}: cannot read ${FORMAT_FILE}: ${errorText(error)}`);
  }
  let value: Partial<DataDirFormat>;
  try {
    value = JSON.parse(text) as Partial<DataDirFormat>;
  } catch {
    value = {};
  }
  if (
    typeof value !== 'object' ||
    value === null ||
    !Number.isSafeInteger(value.format) ||
    (value.format as number) < 1
  ) {
    throw new DataDirError(
      `data_dir ${dataDir}: ${path} does not say which format the data dir holds (expected {"format": <integer>, ...}, got ${JSON.stringify(text.slice(0, 80))}); ` +
        `nothing was changed. If only auraison-edge ${VERSION} or older ever used this data dir, delete the file and start again; otherwise restore it`,
    );
  }
  const format = value.format as number;
  if (format > DATA_DIR_FORMAT) {
    throw new DataDirError(
      `data_dir ${dataDir} holds data format ${format}, written by auraison-edge ${value.written_by ?? '(unknown version)'}; this auraison-edge (${VERSION}) reads format ${DATA_DIR_FORMAT} and older. ` +
        'Nothing was changed: run the newer auraison-edge again, or give this one another data_dir (a rolled-back daemon would misread or damage newer data)',
    );
  }
  return { format, written_by: String(value.written_by ?? ''), path: String(value.path ?? '') };
}

/**
 * Writes `<data_dir>/format.json` for this version (atomically: a temp file, fsynced, renamed, the directory fsynced).
 */
export function writeDataDirFormat(dataDir: string): void {
  const path = join(dataDir, FORMAT_FILE);
  const record: DataDirFormat = { format: DATA_DIR_FORMAT, written_by: VERSION, path: dataDir };
  const fd = openSync(`${path}.tmp`, 'w');
  try {
    writeFileSync(fd, `${JSON.stringify(record, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(`${path}.tmp`, path);
  const dir = openSync(dataDir, 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/**
 * Run by the daemon once it holds the data dir, before anything in it is opened: refuses a data dir of a
 * newer format (DataDirError: nothing touched); when the data dir was moved or copied since the last
 * daemon ran on it, or has no format.json yet (a version before it; it may have been moved meanwhile),
 * rebases the lakehouse catalog's paths under the data dir to where it is now (the lakehouse would take
 * its files for a killed writer's leftovers and delete them); then records this version's format and path.
 *
 * A catalog locked by another process past the lock wait fails the start, saying what to do (the
 * lakehouse would open it later and delete what it took for leftovers); a catalog that can't be opened at
 * all (damaged) is left to the lakehouse component, which reports it, and the daemon starts. Either way
 * format.json keeps what it said, so the next start checks again.
 */
export async function prepareDataDirFormat(dataDir: string, log: Logger, catalogWaitMs?: number): Promise<void> {
  const found = readDataDirFormat(dataDir);
  if (found && found.format === DATA_DIR_FORMAT && found.path === dataDir && found.written_by === VERSION) return;
  if (!found || found.path !== dataDir) {
    // Loaded only here (DuckDB is a native module): most starts find the data dir where it was.
    const { rebaseCatalogPaths } = await import('./lakehouse/index.ts');
    const where = found?.path
      ? `was at ${found.path} when a daemon last ran on it`
      : `has no ${FORMAT_FILE} yet (a version before it wrote the data dir)`;
    let report: Awaited<ReturnType<typeof rebaseCatalogPaths>>;
    try {
      report = await rebaseCatalogPaths(dataDir, found?.path, catalogWaitMs);
    } catch (error) {
      const message = errorText(error);
      const what = `data_dir ${dataDir} ${where}, so its lakehouse catalog, which lists files by path, must be checked for paths of another place, and it could not be opened: ${message}`;
      if (
        (error as Error).name === 'CatalogLockedError' ||
        /Could not set lock|Conflicting lock|is locked by/i.test(message)
      ) {
        throw new Error(`${what}. Nothing was changed; start the daemon again once the catalog is free`);
      }
      log.warn(`${what}. Left to the lakehouse component; checked again at the next start`);
      return;
    }
    if (report.from.length > 0) {
      log.warn(
        { from: report.from, to: dataDir, event_files: report.eventFiles, segments: report.segments },
        `data dir moved from ${report.from.join(', ')}: the lakehouse catalog's paths now point to ${dataDir}`,
      );
    }
  }
  try {
    writeDataDirFormat(dataDir);
  } catch (error) {
    // A full disk must not keep the daemon (and the retention that frees space) from starting: the file is
    // written at a later start. Until then a rolled-back older version is not refused by it.
    rmSync(join(dataDir, `${FORMAT_FILE}.tmp`), { force: true });
    log.warn(
      { err: errorText(error) },
      `data dir: cannot write ${join(dataDir, FORMAT_FILE)} (it says which data format the data dir holds); carrying on, it is written at the next start`,
    );
  }
}
