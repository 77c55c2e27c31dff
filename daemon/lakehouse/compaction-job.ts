import type { Logger } from 'pino';
import type { MetricFamily } from '../contract/index.ts';
import { compactLakehouse, CompactionError, type CompactionOptions } from './compaction.ts';
import { freeSpaceTarget, statfsSpace, type DiskSpace } from './disk-space.ts';
import { counter } from '../util/index.ts';

export interface CompactionJobOptions {
  dataDir: string;
  log: Logger;
  afterS: number;
  maxBytes: number;
  catalogWaitMs?: number;
  /**
   * The recorder's `min_free_bytes`, when one is configured: a merge never takes free space below retention's target.
   */
  minFreeBytes?: number;
  diskSpace?: (dir: string) => Promise<DiskSpace>;
  /** Tests: compactLakehouse's hooks. */
  hooks?: CompactionOptions['hooks'];
}

/**
 * Free bytes under the data dir now, and what a merge must leave free (retention's target when a recorder is
 * configured, else 0).
 */
export interface Room {
  free: number;
  keep: number;
}

/**
 * Whether the disk under `dataDir` has room for a merge of `bytes` (its merged files are written while the
 * old ones still exist) and still keeps retention's free-space target for the recorder. `undefined` when
 * statfs fails: that says nothing about space, and the write fails cleanly if there is none.
 */
export async function roomForMerge(
  dataDir: string,
  bytes: number,
  minFreeBytes: number | undefined,
  diskSpace: (dir: string) => Promise<DiskSpace> = statfsSpace,
): Promise<(Room & { ok: boolean }) | undefined> {
  let space: DiskSpace;
  try {
    space = await diskSpace(dataDir);
  } catch {
    return undefined;
  }
  const keep = minFreeBytes !== undefined ? freeSpaceTarget(minFreeBytes, space.size) : 0;
  return { ok: space.free - bytes >= keep, free: space.free, keep };
}

/**
 * The lakehouse's compaction job (see compaction.ts): one merge per run, so the component's other jobs
 * (indexing a split, an events flush, a retention pass) never wait behind a month of backlog; `run` says
 * whether more merges are due, and the component queues the next run. A merge that fails is left out of
 * later runs until the daemon restarts (it would fail again the same way; the rest still gets merged), unless
 * it failed for a locked catalog or a full disk: then the next run tries it again.
 */
export class CompactionJob {
  readonly #hooks: CompactionOptions['hooks'] | undefined;
  readonly #minFreeBytes: number | undefined;
  readonly #diskSpace: ((dir: string) => Promise<DiskSpace>) | undefined;
  readonly #dataDir: string;
  readonly #log: Logger;
  readonly #afterS: number;
  readonly #maxBytes: number;
  readonly #catalogWaitMs: number | undefined;
  #abort = new AbortController();
  #failed = new Set<string>();
  #merges = 0;
  #filesMerged = 0;
  #files: number | undefined;

  constructor(options: CompactionJobOptions) {
    const { hooks, minFreeBytes, diskSpace, dataDir, log, afterS, maxBytes, catalogWaitMs } = options;
    this.#hooks = hooks;
    this.#minFreeBytes = minFreeBytes;
    this.#diskSpace = diskSpace;
    this.#dataDir = dataDir;
    this.#log = log;
    this.#afterS = afterS;
    this.#maxBytes = maxBytes;
    this.#catalogWaitMs = catalogWaitMs;
  }

  /** Makes the next merge due, if any. Returns whether more are due now. */
  async run(): Promise<boolean> {
    if (this.#abort.signal.aborted) return false;
    const dataDir = this.#dataDir;
    let report;
    try {
      report = await compactLakehouse({
        dataDir,
        afterS: this.#afterS,
        maxBytes: this.#maxBytes,
        maxMerges: 1,
        skip: this.#failed,
        catalogWaitMs: this.#catalogWaitMs,
        signal: this.#abort.signal,
        hooks: this.#hooks,
        roomFor: async (bytes) => (await roomForMerge(dataDir, bytes, this.#minFreeBytes, this.#diskSpace))?.ok ?? true,
      });
    } catch (error) {
      // A locked catalog or a full disk passes: that merge is tried again at the next run.
      if (error instanceof CompactionError && !error.transient) this.#failed.add(error.key);
      throw error;
    }
    this.#files = report.filesAfter;
    for (const m of report.merged) {
      this.#merges++;
      this.#filesMerged += m.inputFiles;
      this.#log.info(
        {
          merge: m.key,
          members: m.members,
          files_in: m.inputFiles,
          files_out: m.outputFiles,
          bytes_in: m.bytesIn,
          bytes_out: m.bytesOut,
          rows: m.rows,
          ms: m.ms,
        },
        'lakehouse: compacted parquet files',
      );
    }
    if (report.stoppedBy === 'no room')
      this.#log.warn(
        'lakehouse: compaction waits: merging would take free space below what retention keeps for the recorder',
      );
    return report.pending > 0 && report.stoppedBy === undefined;
  }

  /** Stops a merge in progress (what was committed stays; the rest is left as it was). */
  close(): void {
    this.#abort.abort();
  }

  get details() {
    // Counted by each compaction run (every 10 minutes), not kept up as splits are indexed: named so.
    return { parquet_files_at_last_compaction: this.#files ?? null, compactions: this.#merges };
  }

  metrics(): MetricFamily[] {
    return [
      counter(
        'auraison_lakehouse_compactions_total',
        'Merges of small lakehouse parquet files into one per table and partition.',
        this.#merges,
      ),
      counter('auraison_lakehouse_compacted_files_total', 'Parquet files replaced by merged ones.', this.#filesMerged),
      {
        name: 'auraison_lakehouse_parquet_files',
        help: 'Parquet files the lakehouse catalog lists, as the last compaction run counted (no sample before the first).',
        type: 'gauge',
        samples: this.#files === undefined ? [] : [{ value: this.#files }],
      },
    ];
  }
}
