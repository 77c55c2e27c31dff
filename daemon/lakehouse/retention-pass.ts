import type { Logger } from 'pino';
import type { Static } from 'typebox';
import type { RetentionConfig } from '../config/index.ts';
import type { JobQueue } from '../util/index.ts';
import type { ForgetReport } from './housekeeping.ts';
import { spaceIsLow, statfsSpace, type DiskSpace } from './disk-space.ts';
import { applyRetention, type RecorderActivity, type RetentionReport } from './retention.ts';

export interface RetentionPassOptions {
  dataDir: string;
  log: Logger;
  settings: Static<typeof RetentionConfig>;
  /** Whether retention must keep data central has not got (see syncRequired in retention.ts). */
  syncRequired: boolean;
  recording: (() => RecorderActivity) | undefined;
  /** Recorded splits are indexed (lakehouse.index_recordings): retention keeps the ones not indexed yet. */
  keepUnindexed: boolean;
  /** The recorder's `min_free_bytes`, when a recorder is configured: free space is kept above it plus a margin. */
  minFreeBytes: number | undefined;
  diskSpace: ((dir: string) => Promise<DiskSpace>) | undefined;
  catalogWaitMs: number | undefined;
  queue: JobQueue;
  /** Logs the parquet files a pass took off the catalog. */
  forgotten: (report: ForgetReport) => void;
}

/**
 * The lakehouse's retention passes (retention.ts), queued as jobs: what each deleted goes to the log, and what the
 * last one found (data size, free space, what blocks it) to health and metrics.
 */
export class RetentionPass {
  readonly #dataDir: string;
  readonly #log: Logger;
  readonly #settings: Static<typeof RetentionConfig>;
  readonly #syncRequired: boolean;
  readonly #recording: (() => RecorderActivity) | undefined;
  readonly #keepUnindexed: boolean;
  readonly #minFreeBytes: number | undefined;
  readonly #diskSpace: ((dir: string) => Promise<DiskSpace>) | undefined;
  readonly #catalogWaitMs: number | undefined;
  readonly #queue: JobQueue;
  readonly #forgotten: (report: ForgetReport) => void;
  #report: RetentionReport | undefined;
  #deletedForSpace = 0;
  /**
   * What retention last said about free space. Kept until free space is back halfway into the margin above
   * the target: deletions leave it just above the target, and a recorder filling a small disk brings it
   * down again, so health would otherwise flip on every pass.
   */
  #spaceNote: string | undefined;

  constructor(options: RetentionPassOptions) {
    const { dataDir, log, settings, syncRequired, recording, keepUnindexed, minFreeBytes, diskSpace } = options;
    const { catalogWaitMs, queue, forgotten } = options;
    this.#dataDir = dataDir;
    this.#log = log;
    this.#settings = settings;
    this.#syncRequired = syncRequired;
    this.#recording = recording;
    this.#keepUnindexed = keepUnindexed;
    this.#minFreeBytes = minFreeBytes;
    this.#diskSpace = diskSpace;
    this.#catalogWaitMs = catalogWaitMs;
    this.#queue = queue;
    this.#forgotten = forgotten;
  }

  /** What the last pass found, until the first has run. */
  get report(): RetentionReport | undefined {
    return this.#report;
  }

  /** Files deleted to keep free space for the recorder. */
  get deletedForSpace(): number {
    return this.#deletedForSpace;
  }

  /** Whether free space is short, as the last passes said (see #spaceNote). */
  get lowSpace(): boolean {
    return this.#spaceNote !== undefined;
  }

  /** Queues a pass (none while one waits to start). */
  enqueue(): void {
    this.#queue.add('retention', () => this.#run());
  }

  /**
   * Queues a pass when free space is below its target: the recorder stops at min_free_bytes, and
   * check_interval_s may be long. A statfs failure is thrown.
   */
  async checkSpace(): Promise<void> {
    const minFreeBytes = this.#minFreeBytes;
    if (!this.#settings.enabled || minFreeBytes === undefined) return;
    const space = await (this.#diskSpace ?? statfsSpace)(this.#dataDir);
    if (spaceIsLow(space, minFreeBytes)) this.enqueue();
  }

  /** Why health is degraded by retention, first to last. */
  reasons(): string[] {
    const r = this.#report;
    const reasons: string[] = [];
    if (r?.blocked) reasons.push(`retention: ${r.blocked}`);
    if (this.#spaceNote) reasons.push(`retention: ${this.#spaceNote}`);
    if (r?.clock) reasons.push(`retention: ${r.clock}`);
    return reasons;
  }

  async #run(): Promise<void> {
    const report = await applyRetention({
      dataDir: this.#dataDir,
      settings: this.#settings,
      syncRequired: this.#syncRequired,
      recording: this.#recording,
      keepUnindexed: this.#keepUnindexed,
      minFreeBytes: this.#minFreeBytes,
      diskSpace: this.#diskSpace,
      repairing: this.#report?.repairing,
      catalogWaitMs: this.#catalogWaitMs,
    });
    const log = this.#log;
    for (const d of report.deleted) log.info({ file: d.file, bytes: d.bytes, why: d.why }, 'retention: deleted');
    if (report.lost)
      log.warn(
        { files: report.lost.length, bytes: report.lost.reduce((n, l) => n + l.bytes, 0) },
        'retention: deleted files central had not got (no other choice left); each is reported to central as lost',
      );
    if (report.forgotten) this.#forgotten(report.forgotten);
    this.#deletedForSpace += report.deleted.filter((d) => d.why === 'free_space').length;
    if (report.emptyDirsRemoved > 0)
      log.debug({ dirs: report.emptyDirsRemoved }, 'retention: removed empty partition directories');
    if (report.blocked && report.blocked !== this.#report?.blocked) log.warn(`retention: ${report.blocked}`);
    if (report.lowSpace && report.lowSpace !== this.#spaceNote) log.warn(`retention: ${report.lowSpace}`);
    const space = report.freeSpace;
    if (report.lowSpace) this.#spaceNote = report.lowSpace;
    else if (!space || space.free >= space.target + (space.target - space.minFree) / 2) this.#spaceNote = undefined;
    if (report.clock && report.clock !== this.#report?.clock) log.warn(`retention: ${report.clock}`);
    this.#report = report;
  }
}
