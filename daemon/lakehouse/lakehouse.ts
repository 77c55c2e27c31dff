import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Static } from 'typebox';
import type { DefinitionsRegistry } from '../bus/index.ts';
import { compileBagTopicSelection } from '../bus/index.ts';
import type { LakehouseConfig, RetentionConfig } from '../config/index.ts';
import type {
  Journal,
  JournalHolder,
  LakehouseService,
  MetricFamily,
  MetricsProvider,
  SplitIndexing,
} from '../contract/index.ts';
import type { Component, ComponentHealth } from '../lifecycle/index.ts';
import { CatalogLockedError, lakehousePaths, withCatalog } from './catalog.ts';
import { oversizedLine } from './oversized.ts';
import { CompactionJob } from './compaction-job.ts';
import { indexEvents } from './events-indexer.ts';
import { forgetMissingParquet, removeOrphanParquet, sweepStaging, type ForgetReport } from './housekeeping.ts';
import { importBag, type ImportReport } from './importer.ts';
import { queryLakehouse, type QueryOptions, type QueryResult } from './query.ts';
import { exponentialBackoff, within } from '../util/index.ts';
import { unindexedSplits } from './recorded-splits.ts';
import {
  applyRetention,
  spaceIsLow,
  statfsSpace,
  type DiskSpace,
  type RecorderActivity,
  type RetentionReport,
} from './retention.ts';
import { registerSyncFiles, type SyncFilter } from './sync-files.ts';
import { quoteString } from './table-writer.ts';

export interface LakehouseOptions {
  dataDir: string;
  robot: string;
  definitions: DefinitionsRegistry;
  log: Logger;
  journal: Journal | undefined;
  settings: Static<typeof LakehouseConfig>;
  retention: Static<typeof RetentionConfig>;
  /** Whether retention must keep data central has not got (see syncRequired in retention.ts). */
  syncRequired: boolean;
  /** What the recorder holds, when one runs: retention leaves it alone, and the start scan leaves its splits to it. */
  recording?: () => RecorderActivity;
  /**
   * The recorder's `min_free_bytes`, when a recorder is configured: retention then also deletes the oldest
   * data while free space is below it plus a margin, checked every `tickMs`.
   */
  minFreeBytes?: number;
  /** statfs of the data dir (tests give a small disk). */
  diskSpace?: (dir: string) => Promise<DiskSpace>;
  /** How often free space and failed splits due for a retry are checked, ms (default 1000). */
  tickMs?: number;
  /** Backoff between retries of a split whose indexing failed: first wait and cap, ms; doubles per failure. */
  retryMs?: { first: number; max: number };
  /** A monotonic clock, ms, for retry backoff (tests step it). */
  now?: () => number;
  /** How long a job waits for a catalog another process holds before it fails (default 10 s; tests give less). */
  catalogWaitMs?: number;
  /** How often a compaction run is queued, ms (default 10 minutes), when `compact_after_s` is not 0. */
  compactEveryMs?: number;
  /** Central sync is on: which files get a sync row (sync-files.ts), added after each indexing job. */
  sync?: SyncFilter;
}

const COMPACT_EVERY_MS = 600_000;

/** How many recently indexed split paths splitIndexing remembers. */
const INDEXED_FILES_KEPT = 1000;

/** A recorded split whose indexing failed, waiting for its retry. */
interface FailedSplit {
  bagDir: string;
  error: string;
  attempts: number;
  retryAt: number;
}

/**
 * The local lakehouse as a daemon component: it indexes recorded splits as they close (and, at start, the
 * finished splits no one indexed), copies agent events from the journal every `events_flush_s`, applies
 * retention every `check_interval_s` (and as soon as free space runs low), merges old splits' small parquet
 * files every 10 minutes, one merge per job (compaction.ts, `compact_after_s`), and answers read-only SQL
 * (LakehouseService). Work runs one job at a time, in the background: a failure is logged and shown in
 * health until a job of the same kind succeeds, never thrown at the recorder; a split that failed to index
 * is retried with a backoff that doubles per failure. A job is skipped while one of its kind is still
 * waiting, so a slow disk doesn't grow the queue without bound.
 */
export class Lakehouse implements Component, LakehouseService, MetricsProvider, JournalHolder {
  readonly name = 'lakehouse';
  readonly #dataDir: string;
  readonly #log: Logger;
  readonly #journal: Journal | undefined;
  readonly #settings: Static<typeof LakehouseConfig>;
  readonly #retentionSettings: Static<typeof RetentionConfig>;
  readonly #compactEveryMs: number | undefined;
  readonly #tickMs: number | undefined;
  readonly #catalogWaitMs: number | undefined;
  readonly #recording: (() => RecorderActivity) | undefined;
  readonly #retryMs: LakehouseOptions['retryMs'];
  readonly #robot: string;
  readonly #syncRequired: boolean;
  readonly #minFreeBytes: number | undefined;
  readonly #diskSpace: ((dir: string) => Promise<DiskSpace>) | undefined;
  readonly #givenNow: (() => number) | undefined;
  readonly #definitions: DefinitionsRegistry;
  readonly #sync: SyncFilter | undefined;
  #select: (topic: string) => boolean;
  #jobs: Promise<void> = Promise.resolve();
  /** Kinds of periodic job queued and not yet started. */
  #waiting = new Set<string>();
  #queued = 0;
  #timers: NodeJS.Timeout[] = [];
  /** The last failure of each kind of job, until one of that kind succeeds. */
  #errors = new Map<string, string>();
  #retention: RetentionReport | undefined;
  #failed = new Map<string, FailedSplit>();
  /** The recorded splits indexed last, oldest first (for splitIndexing). */
  #indexedFiles = new Set<string>();
  #indexFailures = 0;
  #deletedForSpace = 0;
  /**
   * What retention last said about free space. Kept until free space is back halfway into the margin above
   * the target: deletions leave it just above the target, and a recorder filling a small disk brings it
   * down again, so health would otherwise flip on every pass.
   */
  #spaceNote: string | undefined;
  #ticking = false;
  /** Set by close(): a queued job that has not begun is left for the next start (see close). */
  #draining = false;
  #leftForNextStart: string[] = [];
  /** Aborted by close(): the split being indexed is dropped between two batches, left to the next start. */
  #stopSignal = new AbortController();
  /** Set by close(): no job is queued after it (a free-space check in flight then finds it set). */
  #stopped = false;
  #indexed = 0;
  /** Topics whose oversized messages were logged (once per topic). */
  #oversizedTopics = new Set<string>();
  #events = 0;
  /** The last journal seq indexed into the events table; 0 until the first pass has run. */
  #indexedThrough = 0;
  /** The start's catalog work (see #enqueueSetup): done yet, failed attempts, when it is due again. */
  #setup = { done: false, attempts: 0, retryAt: 0 };
  /** Resolved when #setup.done turns true: queries asked before it wait on it. */
  /** Set by start(): from then a query waits for the start's catalog work (a lakehouse never started does not). */
  #started = false;
  #setUp = (() => {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    return { promise, resolve };
  })();
  /** Set while another process holds the catalog (what the last job that found it locked said); see #tick. */
  #locked: string | undefined;
  /** When a job may next try the catalog while it is locked, and how many tries found it locked in a row. */
  #lockRetryAt = 0;
  #lockFailures = 0;
  /** What forgetMissingParquet last said it left alone, so it is logged once. */
  #forgetSkipped: string | undefined;
  #compaction: CompactionJob;

  constructor(options: LakehouseOptions) {
    const {
      dataDir,
      log,
      journal,
      settings,
      retention: retentionSettings,
      compactEveryMs,
      tickMs,
      catalogWaitMs,
      recording,
      retryMs,
      robot,
      syncRequired,
      minFreeBytes,
      diskSpace,
      now: givenNow,
      definitions,
      sync,
    } = options;
    this.#sync = sync;
    this.#dataDir = dataDir;
    this.#log = log;
    this.#journal = journal;
    this.#settings = settings;
    this.#retentionSettings = retentionSettings;
    this.#compactEveryMs = compactEveryMs;
    this.#tickMs = tickMs;
    this.#catalogWaitMs = catalogWaitMs;
    this.#recording = recording;
    this.#retryMs = retryMs;
    this.#robot = robot;
    this.#syncRequired = syncRequired;
    this.#minFreeBytes = minFreeBytes;
    this.#diskSpace = diskSpace;
    this.#givenNow = givenNow;
    this.#definitions = definitions;
    this.#select = compileBagTopicSelection(options.settings.project, options.settings.project_exclude);
    const { compact_after_s: afterS, compact_max_bytes: maxBytes } = options.settings;
    this.#compaction = new CompactionJob({
      dataDir: options.dataDir,
      log: options.log,
      afterS,
      maxBytes,
      catalogWaitMs: options.catalogWaitMs,
      minFreeBytes: options.minFreeBytes,
      diskSpace: options.diskSpace,
    });
  }

  async start(): Promise<void> {
    this.#started = true;
    const paths = lakehousePaths(this.#dataDir);
    mkdirSync(paths.tables, { recursive: true });
    const swept = sweepStaging(this.#dataDir);
    if (swept.length > 0)
      this.#log.warn({ dirs: swept }, 'lakehouse: removed staged parquet that writers killed mid-write left behind');
    // The catalog is not waited for here: another process may hold it (a DuckDB shell left open on it) for
    // as long as it likes, and the lakehouse must still start, say so in health, and catch up once it can.
    this.#enqueueSetup();
    const every = (ms: number, job: () => void) => {
      const t = setInterval(job, ms);
      t.unref();
      this.#timers.push(t);
    };
    if (this.#journal)
      every(this.#settings.events_flush_s * 1000, () => this.#enqueue('events', () => this.#indexEvents()));
    if (this.#retentionSettings.enabled) {
      every(this.#retentionSettings.check_interval_s * 1000, () =>
        this.#enqueue('retention', () => this.#applyRetention()),
      );
      this.#enqueue('retention', () => this.#applyRetention());
    }
    if (this.#settings.compact_after_s > 0) {
      every(this.#compactEveryMs ?? COMPACT_EVERY_MS, () => this.#enqueueCompaction());
      this.#enqueueCompaction();
    }
    every(this.#tickMs ?? 1000, () => void this.#tick());
  }

  /** Queues a compaction run (one merge); it queues the next while more are due, behind the jobs queued meanwhile. */
  #enqueueCompaction(): void {
    this.#enqueue('compact', async () => {
      if (await this.#compaction.run()) this.#enqueueCompaction();
      this.#enqueueSyncFiles();
    });
  }

  /**
   * Queues the start's catalog work: make the catalog's tables, delete parquet no row lists, take files
   * missing from disk off the catalog, and queue the finished recorded splits it lacks. Retried with the
   * split retries' backoff until it succeeds (see #tick).
   */
  #enqueueSetup(): void {
    this.#setup.retryAt = Infinity; // not due again while this one waits or runs
    const skipped = () => void (this.#setup.retryAt = this.#lockRetryAt);
    this.#enqueue(
      'start',
      async () => {
        const paths = lakehousePaths(this.#dataDir);
        let indexed: Set<string>;
        try {
          indexed = await withCatalog(
            paths.catalog,
            async (conn) => {
              const orphans = await removeOrphanParquet(conn, paths.tables);
              if (orphans.length > 0)
                this.#log.warn(
                  { files: orphans },
                  'lakehouse: deleted parquet files no catalog row lists (a writer was killed between moving them in and committing)',
                );
              this.#logForgotten(await forgetMissingParquet(conn, paths.tables));
              return new Set((await conn.runAndReadAll('SELECT path FROM bags')).getRows().map((r) => String(r[0])));
            },
            { timeoutMs: this.#catalogWaitMs },
          );
        } catch (error) {
          const wait = this.#backoff(++this.#setup.attempts);
          this.#setup.retryAt = this.#now() + wait;
          throw error;
        }
        this.#setup.done = true;
        this.#setUp.resolve();
        this.#enqueueSyncFiles();
        if (!this.#settings.index_recordings) return;
        const splits = unindexedSplits(
          join(this.#dataDir, 'bags'),
          indexed,
          this.#recording?.() ?? { files: [], bags: [], closing: [] },
        );
        if (splits.length > 0)
          this.#log.info({ splits: splits.length }, 'lakehouse: indexing recorded splits not in the catalog');
        for (const s of splits) this.indexRecordedSplit(s.file, s.bagDir);
      },
      skipped,
    );
  }

  #logForgotten(report: ForgetReport): void {
    if (report.forgotten.length > 0) {
      this.#log.warn(
        { files: report.forgotten, segments_dropped: report.segmentsDropped },
        'lakehouse: took parquet files missing from disk (deleted by hand?) off the catalog',
      );
    }
    if (report.skipped && report.skipped !== this.#forgetSkipped) this.#log.warn(`lakehouse: ${report.skipped}`);
    this.#forgetSkipped = report.skipped;
  }

  #backoff(attempts: number): number {
    const { first = 5000, max = 600_000 } = this.#retryMs ?? {};
    return exponentialBackoff(attempts - 1, { firstMs: first, maxMs: max });
  }

  /**
   * Ends within one batch of work: a split being indexed and a merge are interrupted with nothing committed,
   * then one last pass over the journal's events. Jobs still queued are left to the next start, whose scan
   * finds the splits not in the catalog (see docs/running.md, "Stopping").
   */
  async close(): Promise<void> {
    this.#stopSignal.abort(new Error('the lakehouse is stopping'));
    this.#compaction.stop(); // a merge in progress is interrupted and left as it was
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    this.#draining = true;
    if (this.#journal) this.#enqueue('events', () => this.#indexEvents());
    this.#stopped = true;
    await this.#jobs;
    if (this.#leftForNextStart.length > 0) {
      const left = this.#leftForNextStart.splice(0);
      this.#log.warn(
        { jobs: left.length, first: left[0] },
        `lakehouse: stopped with ${left.length} job(s) interrupted or not run; the next start does them`,
      );
    }
  }

  /** Journal retention keeps what the events table has not indexed yet (everything, until the first pass). */
  journalHold(): number | undefined {
    return this.#journal ? this.#indexedThrough + 1 : undefined;
  }

  health(): ComponentHealth {
    const r = this.#retention;
    const details = {
      segments_indexed: this.#indexed,
      events_indexed: this.#events,
      data_bytes: r?.totalBytes ?? null,
      jobs_queued: this.#queued,
      splits_failed: this.#failed.size,
      free_bytes: r?.freeSpace?.free ?? null,
      free_target_bytes: r?.freeSpace?.target ?? null,
      ...this.#compaction.details,
    };
    const reasons: string[] = [];
    if (r?.blocked) reasons.push(`retention: ${r.blocked}`);
    if (this.#spaceNote) reasons.push(`retention: ${this.#spaceNote}`);
    if (r?.clock) reasons.push(`retention: ${r.clock}`);
    // The same failure (a catalog another process holds fails every job) is spelled out once.
    const said = new Set<string>();
    const say = (error: string) => {
      for (const e of said) if (error.startsWith(e)) return `the same${error.slice(e.length)}`;
      said.add(error);
      return error;
    };
    if (this.#failed.size > 0) {
      const [file, f] = [...this.#failed][0]!;
      const retry =
        f.retryAt === Infinity
          ? 'retrying now'
          : `retrying in ${Math.max(0, Math.round((f.retryAt - this.#now()) / 1000))} s`;
      reasons.push(
        `indexing failed for ${this.#failed.size} recorded split(s), first ${file}: ${say(f.error)}; ${retry}`,
      );
    }
    for (const [kind, error] of this.#errors) reasons.push(`${kind}: ${say(error)}`);
    return reasons.length > 0
      ? { state: 'degraded', reason: reasons.join('; '), details }
      : { state: 'running', details };
  }

  metrics(): MetricFamily[] {
    const r = this.#retention;
    return [
      {
        name: 'auraison_lakehouse_segments_indexed_total',
        help: 'Bag segments indexed into the lakehouse.',
        type: 'counter',
        samples: [{ value: this.#indexed }],
      },
      {
        name: 'auraison_lakehouse_events_indexed_total',
        help: 'Agent events written to the events table.',
        type: 'counter',
        samples: [{ value: this.#events }],
      },
      {
        name: 'auraison_lakehouse_index_failures_total',
        help: 'Failed attempts to index a recorded split.',
        type: 'counter',
        samples: [{ value: this.#indexFailures }],
      },
      {
        name: 'auraison_lakehouse_splits_failed',
        help: 'Recorded splits whose indexing failed, waiting for a retry.',
        type: 'gauge',
        samples: [{ value: this.#failed.size }],
      },
      {
        name: 'auraison_data_bytes',
        help: 'Bags plus lakehouse tables on disk, as retention last measured.',
        type: 'gauge',
        samples: [{ value: r?.totalBytes ?? 0 }],
      },
      {
        name: 'auraison_retention_low_free_space',
        help: '1 while retention deletes data to keep free space for the recorder, or cannot free enough.',
        type: 'gauge',
        samples: [{ value: this.#spaceNote ? 1 : 0 }],
      },
      {
        name: 'auraison_retention_free_space_deleted_total',
        help: 'Files retention deleted to keep free space for the recorder.',
        type: 'counter',
        samples: [{ value: this.#deletedForSpace }],
      },
      ...this.#compaction.metrics(),
    ];
  }

  async query(sql: string, options: QueryOptions = {}): Promise<QueryResult> {
    const { timeoutMs = this.#settings.query_timeout_ms, maxRows = this.#settings.query_max_rows, maxBytes } = options;
    // A query asked as the daemon starts waits for the catalog's tables (within its own timeout) rather than
    // failing with DuckDB's "Table with name projections does not exist".
    if (this.#started && !this.#setup.done) await this.#untilSetUp(timeoutMs);
    // The stop interrupts a query in flight, as it interrupts an index job: the daemon's stop is bounded.
    return queryLakehouse(this.#dataDir, sql, { timeoutMs, maxRows, maxBytes, signal: this.#stopSignal.signal });
  }

  /** Resolves once the start's catalog work is done; past `ms`, or at the stop, fails saying what it waits for. */
  async #untilSetUp(ms: number): Promise<void> {
    await within(this.#setUp.promise, ms, undefined, { signal: this.#stopSignal.signal });
    if (this.#setup.done) return;
    const why =
      this.#locked ?? (this.#setup.attempts > 0 ? `${this.#setup.attempts} attempts failed` : 'still making it');
    throw new Error(
      `the lakehouse is starting: its catalog is not ready yet (${why}); ask again in a moment` +
        (this.#stopSignal.signal.aborted ? ' (the daemon is stopping)' : ''),
    );
  }

  /** Indexes one closed split of a recorded bag (called by the recorder). */
  indexRecordedSplit(file: string, bagDir: string): void {
    if (!this.#settings.index_recordings) return;
    this.#enqueue(
      `index ${file}`,
      () => this.#indexSplit(file, bagDir),
      () => this.#waitForLock(file, bagDir),
    );
  }

  /**
   * Waits for the jobs queued so far (the recorder queues a split's index job as the split closes, before
   * `split()` resolves) and says whether `file` is in the catalog: `indexed`; `failed` with the error (it is
   * retried with backoff); `pending` when no index job of this lakehouse has seen it (it was stopped, or
   * restarted since: its start scan indexes what it lacks); `off` without lakehouse.index_recordings.
   */
  async splitIndexing(file: string): Promise<SplitIndexing> {
    if (!this.#settings.index_recordings)
      return {
        state: 'off',
        reason: 'lakehouse.index_recordings is false: recorded splits are not indexed (bag import indexes them)',
      };
    await this.#jobs;
    const skipped = this.#failed.get(file);
    if (skipped && this.#locked !== undefined && !this.#stopped) {
      // Skipped, or failed, on a catalog another process held. Asked for now (the shell that held it may be
      // closed since): tried once now, not after the lock's backoff, which grows to 10 minutes.
      this.#lockRetryAt = 0;
      skipped.retryAt = Infinity; // #tick leaves it alone: this attempt sets the next retry
      this.#enqueue(
        `index ${file}`,
        () => this.#indexSplit(file, skipped.bagDir),
        () => this.#waitForLock(file, skipped.bagDir),
      );
      await this.#jobs;
    }
    const failed = this.#failed.get(file);
    if (failed)
      return {
        state: 'failed',
        error: failed.error,
        retry_in_ms: Math.max(0, Math.round(failed.retryAt - this.#now())),
      };
    if (this.#indexedFiles.has(file)) return { state: 'indexed' };
    return {
      state: 'pending',
      reason: this.#stopped
        ? 'the lakehouse is stopped; its next start indexes the split'
        : 'the lakehouse has not been handed this split (restarted since it closed?); its start scan indexes it',
    };
  }

  /** Marks segments as synced to central, so retention may delete them (called by the central link). */
  async markSynced(segmentIds: readonly string[]): Promise<void> {
    if (segmentIds.length === 0) return;
    await withCatalog(lakehousePaths(this.#dataDir).catalog, (conn) =>
      conn
        .run(
          `UPDATE bags SET sync_state = 'synced', synced_at = current_timestamp WHERE segment_id IN (${segmentIds.map(quoteString).join(', ')})`,
        )
        .then(() => undefined),
    );
  }

  /**
   * Waits until no job is queued or running (tests, shutdown). A job may queue more (the start scan queues
   * one index job per split), so this waits again until the queue stays the same across a wait.
   */
  async idle(): Promise<void> {
    for (let jobs = this.#jobs; ; jobs = this.#jobs) {
      await jobs;
      if (jobs === this.#jobs) return;
    }
  }

  async #import(path: string, only: string[] | undefined, source: 'import' | 'recorder'): Promise<ImportReport> {
    const settings = this.#settings;
    const report = await importBag({
      path,
      dataDir: this.#dataDir,
      robot: this.#robot,
      registry: this.#definitions,
      source,
      only,
      project: this.#select,
      projectMaxBytes: settings.project_max_message_bytes,
      batchRows: settings.batch_rows,
      catalogWaitMs: this.#catalogWaitMs,
      signal: this.#stopSignal.signal,
    });
    this.#indexed += report.segments.filter((s) => s.state === 'imported').length;
    for (const u of report.unknownTypes)
      this.#log.warn(
        { file: u.file, topic: u.topic, type: u.type, count: u.count },
        `lakehouse: messages kept raw: ${u.reason}`,
      );
    for (const c of report.corrupt)
      this.#log.warn(
        { file: c.file, topic: c.topic, type: c.type, count: c.count },
        `lakehouse: messages that do not decode as their type kept raw (corrupt data): ${c.reason}`,
      );
    // Once per topic while the daemon runs: a camera topic would otherwise say it with every split.
    for (const o of report.oversized) {
      if (this.#oversizedTopics.has(o.topic)) continue;
      this.#oversizedTopics.add(o.topic);
      this.#log.info(
        { file: path, topic: o.topic, count: o.count, largest: o.largest },
        `lakehouse: ${oversizedLine(o, settings.project_max_message_bytes)} (said once per topic)`,
      );
    }
    return report;
  }

  async #indexEvents(): Promise<void> {
    const { rows, lastSeq } = await indexEvents({
      journal: this.#journal!,
      dataDir: this.#dataDir,
      robot: this.#robot,
      catalogWaitMs: this.#catalogWaitMs,
    });
    this.#events += rows;
    this.#indexedThrough = lastSeq;
    if (rows > 0) this.#enqueueSyncFiles();
  }

  /** Central sync is on: the files indexed since the last pass get their sync rows (hashed), after the jobs queued. */
  #enqueueSyncFiles(): void {
    const filter = this.#sync;
    if (!filter) return;
    this.#enqueue('sync files', async () => {
      const added = await registerSyncFiles(this.#dataDir, filter, { timeoutMs: this.#catalogWaitMs });
      if (added > 0) this.#log.debug({ files: added }, 'lakehouse: files recorded as awaiting sync');
    });
  }

  /** Indexes one split; a failure goes to the retry set (see #tick) instead of being thrown. */
  async #indexSplit(file: string, bagDir: string): Promise<void> {
    try {
      await this.#import(bagDir, [file], 'recorder');
      this.#enqueueSyncFiles();
      this.#failed.delete(file);
      this.#indexedFiles.add(file);
      if (this.#indexedFiles.size > INDEXED_FILES_KEPT)
        this.#indexedFiles.delete(this.#indexedFiles.values().next().value!);
      this.#unlocked();
    } catch (error) {
      if (this.#stopSignal.signal.aborted) return void this.#leftForNextStart.push(`index ${file}`);
      if (error instanceof CatalogLockedError) this.#lockFailed(error.message);
      if (!existsSync(file)) {
        this.#failed.delete(file); // retention deleted it meanwhile: nothing left to index
        return;
      }
      const attempts = (this.#failed.get(file)?.attempts ?? 0) + 1;
      const wait = this.#backoff(attempts);
      const message = (error as Error).message;
      this.#failed.set(file, { bagDir, error: message, attempts, retryAt: this.#now() + wait });
      this.#indexFailures++;
      this.#log.error(
        { file, err: message, attempts },
        `lakehouse: indexing a recorded split failed; retrying in ${wait} ms`,
      );
    }
  }

  /**
   * Runs every tickMs: queues a retention pass when free space is below its target (the recorder stops at
   * min_free_bytes, and check_interval_s may be long), and the retries that are due.
   */
  async #tick(): Promise<void> {
    if (this.#ticking) return;
    this.#ticking = true;
    try {
      const now = this.#now();
      if (!this.#setup.done && now >= this.#setup.retryAt) this.#enqueueSetup();
      for (const [file, f] of this.#failed) {
        if (now < f.retryAt) continue;
        // Not due again while this retry waits or runs: its outcome sets the next retryAt (or ends the entry).
        f.retryAt = Infinity;
        this.#enqueue(
          `index ${file}`,
          () => this.#indexSplit(file, f.bagDir),
          () => this.#waitForLock(file, f.bagDir),
        );
      }
      const minFreeBytes = this.#minFreeBytes;
      if (this.#retentionSettings.enabled && minFreeBytes !== undefined) {
        const space = await (this.#diskSpace ?? statfsSpace)(this.#dataDir);
        if (spaceIsLow(space, minFreeBytes)) this.#enqueue('retention', () => this.#applyRetention());
      }
    } catch (error) {
      // statfs failing says nothing about space
      this.#log.debug({ err: (error as Error).message }, 'lakehouse: free space check failed');
    } finally {
      this.#ticking = false;
    }
  }

  async #applyRetention(): Promise<void> {
    const report = await applyRetention({
      dataDir: this.#dataDir,
      settings: this.#retentionSettings,
      syncRequired: this.#syncRequired,
      recording: this.#recording,
      keepUnindexed: this.#settings.index_recordings,
      minFreeBytes: this.#minFreeBytes,
      diskSpace: this.#diskSpace,
      repairing: this.#retention?.repairing,
      catalogWaitMs: this.#catalogWaitMs,
    });
    for (const d of report.deleted) this.#log.info({ file: d.file, bytes: d.bytes, why: d.why }, 'retention: deleted');
    if (report.lost)
      this.#log.warn(
        { files: report.lost.length, bytes: report.lost.reduce((n, l) => n + l.bytes, 0) },
        'retention: deleted files central had not got (no other choice left); each is reported to central as lost',
      );
    if (report.forgotten) this.#logForgotten(report.forgotten);
    this.#deletedForSpace += report.deleted.filter((d) => d.why === 'free_space').length;
    if (report.emptyDirsRemoved > 0)
      this.#log.debug({ dirs: report.emptyDirsRemoved }, 'retention: removed empty partition directories');
    if (report.blocked && report.blocked !== this.#retention?.blocked) this.#log.warn(`retention: ${report.blocked}`);
    if (report.lowSpace && report.lowSpace !== this.#spaceNote) this.#log.warn(`retention: ${report.lowSpace}`);
    const space = report.freeSpace;
    if (report.lowSpace) this.#spaceNote = report.lowSpace;
    else if (!space || space.free >= space.target + (space.target - space.minFree) / 2) this.#spaceNote = undefined;
    if (report.clock && report.clock !== this.#retention?.clock) this.#log.warn(`retention: ${report.clock}`);
    this.#retention = report;
  }

  /**
   * A catalog write went through: the lock another process held (if any) is gone, and every split waiting on it is due.
   */
  #unlocked(): void {
    if (this.#locked === undefined) return;
    this.#locked = undefined;
    this.#lockFailures = 0;
    for (const f of this.#failed.values()) if (f.retryAt !== Infinity) f.retryAt = 0;
  }

  /** A job found the catalog locked by another process: jobs skip until the backoff has passed (see #enqueue). */
  #lockFailed(message: string): void {
    this.#locked = message;
    this.#lockRetryAt = this.#now() + this.#backoff(++this.#lockFailures);
  }

  /**
   * A split's index job skipped while the catalog is locked: it waits in the retry set until the lock's backoff has
   * passed.
   */
  #waitForLock(file: string, bagDir: string): void {
    const f = this.#failed.get(file);
    this.#failed.set(file, { bagDir, error: this.#locked!, attempts: f?.attempts ?? 0, retryAt: this.#lockRetryAt });
  }

  #now(): number {
    return this.#givenNow ? this.#givenNow() : performance.now();
  }

  /**
   * Queues a job, unless one of its `kind` waits to start already; its failure shows in health until one of
   * its kind succeeds. While another process holds the catalog, a job due to start before the lock's backoff
   * has passed is skipped (`skipped` runs instead) rather than wait out the lock: the first job after it is
   * the one that finds out whether the lock is gone, so a lock held for days costs one wait per backoff, not
   * one per job (a split closed, an events flush, a retention pass) with the rest queued behind it.
   */
  #enqueue(kind: string, job: () => Promise<void>, skipped?: () => void): void {
    // After close() (a free-space check that was waiting on statfs, a split closed late): the next start, or
    // the next Lakehouse after a reload, runs its own passes and its start scan indexes what was missed.
    if (this.#stopped || this.#waiting.has(kind)) return;
    this.#waiting.add(kind);
    this.#queued++;
    this.#jobs = this.#jobs.then(async () => {
      this.#waiting.delete(kind);
      this.#queued--;
      if (this.#draining && kind !== 'events') return void this.#leftForNextStart.push(kind);
      if (this.#locked !== undefined && this.#now() < this.#lockRetryAt) return skipped?.();
      try {
        await job();
        this.#errors.delete(kind);
        if (!kind.startsWith('index ')) this.#unlocked(); // (an index job settles its failures itself)
      } catch (error) {
        const message = (error as Error).message;
        const locked =
          error instanceof CatalogLockedError
            ? error
            : (error as Error).cause instanceof CatalogLockedError
              ? ((error as Error).cause as Error)
              : undefined;
        if (locked) this.#lockFailed(locked.message);
        this.#errors.set(kind, message);
        this.#log.error({ err: message, job: kind }, 'lakehouse job failed; its next run tries again');
      }
    });
  }
}
