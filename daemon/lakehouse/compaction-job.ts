import type { Logger } from 'pino';
import type { MetricFamily } from '../contract/services.ts';
import { compactLakehouse, CompactionError } from './compaction.ts';
import { freeSpaceTarget, statfsSpace, type DiskSpace } from './retention.ts';

export interface CompactionJobOptions {
  dataDir: string;
  log: Logger;
  afterS: number;
  maxBytes: number;
  catalogWaitMs?: number;
  /** The recorder's `min_free_bytes`, when one is configured: a merge never takes free space below retention's target. */
  minFreeBytes?: number;
  diskSpace?: (dir: string) => Promise<DiskSpace>;
}

/**
 * The lakehouse's compaction job (see compaction.ts): one merge per run, so the component's other jobs
 * (indexing a split, an events flush, a retention pass) never wait behind a month of backlog; `run` says
 * whether more merges are due, and the component queues the next run. A merge that fails is left out of
 * later runs until the daemon restarts (it would fail again the same way; the rest still gets merged).
 */
export class CompactionJob {
  #o: CompactionJobOptions;
  #abort = new AbortController();
  #failed = new Set<string>();
  #merges = 0;
  #filesMerged = 0;
  #files: number | undefined;

  constructor(options: CompactionJobOptions) {
    this.#o = options;
  }

  /** Makes the next merge due, if any. Returns whether more are due now. */
  async run(): Promise<boolean> {
    if (this.#abort.signal.aborted) return false;
    const { dataDir, log, afterS, maxBytes, catalogWaitMs } = this.#o;
    let report;
    try {
      report = await compactLakehouse({ dataDir, afterS, maxBytes, maxMerges: 1, skip: this.#failed, catalogWaitMs, signal: this.#abort.signal, roomFor: (bytes) => this.#roomFor(bytes) });
    } catch (error) {
      if (error instanceof CompactionError) this.#failed.add(error.key);
      throw error;
    }
    this.#files = report.filesAfter;
    for (const m of report.merged) {
      this.#merges++;
      this.#filesMerged += m.inputFiles;
      log.info({ merge: m.key, members: m.members, files_in: m.inputFiles, files_out: m.outputFiles, bytes_in: m.bytesIn, bytes_out: m.bytesOut, rows: m.rows, ms: m.ms }, 'lakehouse: compacted parquet files');
    }
    if (report.stoppedBy === 'no room') log.warn('lakehouse: compaction waits: merging would take free space below what retention keeps for the recorder');
    return report.pending > 0 && report.stoppedBy === undefined;
  }

  /** Stops a merge in progress (what was committed stays; the rest is left as it was). */
  stop(): void {
    this.#abort.abort();
  }

  get details() {
    // Counted by each compaction run (every 10 minutes), not kept up as splits are indexed: named so.
    return { parquet_files_at_last_compaction: this.#files ?? null, compactions: this.#merges };
  }

  metrics(): MetricFamily[] {
    return [
      { name: 'auraison_lakehouse_compactions_total', help: 'Merges of small lakehouse parquet files into one per table and partition.', type: 'counter', samples: [{ value: this.#merges }] },
      { name: 'auraison_lakehouse_compacted_files_total', help: 'Parquet files replaced by merged ones.', type: 'counter', samples: [{ value: this.#filesMerged }] },
      { name: 'auraison_lakehouse_parquet_files', help: 'Parquet files the lakehouse catalog lists, as the last compaction run counted (no sample before the first).', type: 'gauge', samples: this.#files === undefined ? [] : [{ value: this.#files }] },
    ];
  }

  async #roomFor(bytes: number): Promise<boolean> {
    let space: DiskSpace;
    try {
      space = await (this.#o.diskSpace ?? statfsSpace)(this.#o.dataDir);
    } catch {
      return true; // statfs failing says nothing about space; the write fails cleanly if there is none
    }
    const keep = this.#o.minFreeBytes !== undefined ? freeSpaceTarget(this.#o.minFreeBytes, space.size) : 0;
    return space.free - bytes >= keep;
  }
}
