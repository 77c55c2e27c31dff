import { mkdirSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Static } from 'typebox';
import type { DefinitionsRegistry } from '../bus/index.ts';
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
import { JobQueue, type BackoffOptions, errorText, within } from '../util/index.ts';
import { lakehousePaths } from './catalog.ts';
import { CatalogLockBackoff, catalogLockOf } from './catalog-lock.ts';
import { CatalogSetup } from './catalog-setup.ts';
import { CompactionJob } from './compaction-job.ts';
import { EVENTS_JOB, EventsPass } from './events-pass.ts';
import { forgottenLog, sweepStaging } from './housekeeping.ts';
import { lakehouseMetrics } from './lakehouse-metrics.ts';
import type { QueryOptions, QueryResult } from './query.ts';
import { QueryProcess } from './query-process.ts';
import { RetentionPass } from './retention-pass.ts';
import type { DiskSpace } from './disk-space.ts';
import type { RecorderActivity } from './retention.ts';
import { indexJob, isIndexJob, SplitIndexer } from './split-indexer.ts';
import { markSegmentsSynced, type SyncFilter } from './sync-files.ts';
import { registerSyncFiles } from './sync-register.ts';

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
/**
 * How long a stop waits for the split the recorder closed as it stopped to be indexed: within the daemon's 4.5 s
 * stop, after the recorder's own close. A larger split is interrupted and left to the next start.
 */
const LAST_SPLIT_WAIT_MS = 2000;

/**
 * The local lakehouse as a daemon component, a lifecycle over its parts: SplitIndexer indexes recorded splits as
 * they close (and, at start, the finished splits no one indexed), EventsPass copies agent events from the journal
 * every `events_flush_s`, RetentionPass applies retention every `check_interval_s` (and as soon as free space runs
 * low), CompactionJob merges old splits' small parquet files every 10 minutes, one merge per job
 * (`compact_after_s`), and QueryProcess answers read-only SQL (LakehouseService). Their work runs one job at a
 * time in one JobQueue, in the background: a failure is logged and shown in health until a job of the same kind
 * succeeds, never thrown at the recorder. While another process holds the catalog, jobs are skipped until its
 * backoff passes (CatalogLockBackoff).
 */
export class Lakehouse implements Component, LakehouseService, MetricsProvider, JournalHolder {
  readonly name = 'lakehouse';
  readonly #dataDir: string;
  readonly #log: Logger;
  readonly #settings: Static<typeof LakehouseConfig>;
  readonly #retentionSettings: Static<typeof RetentionConfig>;
  readonly #compactEveryMs: number;
  readonly #tickMs: number;
  readonly #catalogWaitMs: number | undefined;
  readonly #sync: SyncFilter | undefined;
  readonly #now: () => number;
  /** Aborted by close(): the split being indexed is dropped between two batches, left to the next start. */
  readonly #stopSignal = new AbortController();
  /** Where queries run: a process of their own at the lowest priority. */
  readonly #queries = new QueryProcess();
  readonly #queue: JobQueue;
  readonly #setup: CatalogSetup;
  readonly #splits: SplitIndexer;
  readonly #events: EventsPass | undefined;
  readonly #retention: RetentionPass;
  readonly #compaction: CompactionJob;
  #timers: NodeJS.Timeout[] = [];
  #ticking = false;
  /** Jobs the stop interrupted or left queued: the next start does them. */
  #leftForNextStart: string[] = [];
  /** The index jobs of splits the recorder's stop closed: a stop of the daemon leaves them, as it must. */
  #closedByStop = new Set<string>();
  /** Set by start(): from then a query waits for the start's catalog work (a lakehouse never started does not). */
  #started = false;

  constructor(options: LakehouseOptions) {
    const { dataDir, robot, definitions, log, journal, settings, retention, syncRequired, recording } = options;
    const { minFreeBytes, diskSpace, tickMs = 1000, retryMs, now, catalogWaitMs, compactEveryMs, sync } = options;
    this.#dataDir = dataDir;
    this.#log = log;
    this.#settings = settings;
    this.#retentionSettings = retention;
    this.#compactEveryMs = compactEveryMs ?? COMPACT_EVERY_MS;
    this.#tickMs = tickMs;
    this.#catalogWaitMs = catalogWaitMs;
    this.#sync = sync;
    this.#now = now ?? (() => performance.now());
    const backoff: BackoffOptions = { firstMs: retryMs?.first ?? 5000, maxMs: retryMs?.max ?? 600_000 };
    const lock = new CatalogLockBackoff({ backoff, now: this.#now });
    const queue = (this.#queue = new JobQueue({
      hold: () => lock.holding(),
      succeeded: (kind) => {
        if (!isIndexJob(kind)) this.#splits.catalogFree(); // an index job settles its failures itself
      },
      failed: (kind, error) => {
        const locked = catalogLockOf(error);
        if (locked) lock.failed(locked.message);
        this.#log.error({ err: queue.failures.get(kind), job: kind }, 'lakehouse job failed; its next run tries again');
      },
      dropped: (kind) => this.#leftForNextStart.push(kind),
    }));
    const forgotten = forgottenLog(log);
    const signal = this.#stopSignal.signal;
    const syncFiles = () => this.#enqueueSyncFiles();
    this.#splits = new SplitIndexer({
      ...{ dataDir, robot, definitions, log, settings, catalogWaitMs, recording, queue, lock, backoff },
      now: this.#now,
      signal,
      indexed: syncFiles,
      interrupted: (kind) => this.#leftForNextStart.push(kind),
    });
    this.#setup = new CatalogSetup({
      ...{ dataDir, log, catalogWaitMs, queue, lock, backoff, signal, forgotten },
      now: this.#now,
      ready: (indexed) => {
        syncFiles();
        this.#splits.catchUp(indexed);
      },
    });
    this.#events = journal
      ? new EventsPass({ journal, dataDir, robot, catalogWaitMs, queue, indexed: syncFiles })
      : undefined;
    this.#retention = new RetentionPass({
      ...{ dataDir, log, settings: retention, syncRequired, recording, minFreeBytes, diskSpace, catalogWaitMs },
      keepUnindexed: settings.index_recordings,
      queue,
      forgotten,
    });
    const { compact_after_s: afterS, compact_max_bytes: maxBytes } = settings;
    this.#compaction = new CompactionJob({ dataDir, log, afterS, maxBytes, catalogWaitMs, minFreeBytes, diskSpace });
  }

  async start(): Promise<void> {
    this.#started = true;
    mkdirSync(lakehousePaths(this.#dataDir).tables, { recursive: true });
    const swept = sweepStaging(this.#dataDir);
    if (swept.length > 0)
      this.#log.warn({ dirs: swept }, 'lakehouse: removed staged parquet that writers killed mid-write left behind');
    // The catalog is not waited for here: another process may hold it (a DuckDB shell left open on it) for
    // as long as it likes, and the lakehouse must still start, say so in health, and catch up once it can.
    this.#setup.enqueue();
    const every = (ms: number, job: () => void) => {
      const t = setInterval(job, ms);
      t.unref();
      this.#timers.push(t);
    };
    const events = this.#events;
    if (events) every(this.#settings.events_flush_s * 1000, () => events.enqueue());
    if (this.#retentionSettings.enabled) {
      every(this.#retentionSettings.check_interval_s * 1000, () => this.#retention.enqueue());
      this.#retention.enqueue();
    }
    if (this.#settings.compact_after_s > 0) {
      every(this.#compactEveryMs, () => this.#enqueueCompaction());
      this.#enqueueCompaction();
    }
    every(this.#tickMs, () => void this.#tick());
  }

  /**
   * Ends within one batch of work, after the split the recorder's stop closed is indexed (within
   * LAST_SPLIT_WAIT_MS): a split being indexed and a merge are interrupted with nothing committed, then one last
   * pass over the journal's events. Jobs still queued are left to the next start, whose scan finds the splits not
   * in the catalog (see docs/running.md, "Stopping").
   */
  async close(): Promise<void> {
    this.#compaction.close(); // a merge in progress is interrupted and left as it was
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    this.#events?.enqueue();
    // After this, a free-space check that was waiting on statfs or a split closed late queues nothing: the
    // next start, or the next Lakehouse after a reload, runs its own passes and its start scan indexes what was missed.
    // The split the recorder closed as the daemon stopped runs too, so that a query or an export after a Ctrl-C finds
    // the whole recording; within LAST_SPLIT_WAIT_MS, since the stop is bounded.
    const closed = this.#queue.close((kind) => kind === EVENTS_JOB || this.#closedByStop.has(kind));
    if (this.#lastSplitWaiting()) await within(closed, LAST_SPLIT_WAIT_MS);
    this.#stopSignal.abort(new Error('the lakehouse is stopping'));
    await Promise.all([closed, this.#queries.close()]);
    const left = this.#leftForNextStart.splice(0);
    // The split the recorder closed as the daemon stopped is always left: said where asked (info), not warned of
    // at every Ctrl-C. A warning is for work that was there before the stop; a retention sweep is not (every start
    // sweeps again, and it only deletes), so a Ctrl-C that lands on its timer says nothing.
    const backlog = left.filter((kind) => !this.#closedByStop.has(kind) && kind !== 'retention');
    if (backlog.length > 0)
      this.#log.warn(
        { jobs: left.length, first: backlog[0] },
        `lakehouse: stopped with ${left.length} job(s) interrupted or not run; the next start does them (first: ${backlog[0]})`,
      );
    else if (left.length > 0)
      this.#log.info(
        { jobs: left.length, first: left[0] },
        `lakehouse: the split(s) the recorder closed as it stopped are indexed at the next start`,
      );
  }

  /** Whether a split the recorder's stop closed is not indexed yet (one closed by a reload's restart may be). */
  #lastSplitWaiting(): boolean {
    return [...this.#closedByStop].some((kind) => !this.#splits.hasIndexed(kind));
  }

  /** Journal retention keeps what the events table has not indexed yet (everything, until the first pass). */
  journalHold(): number | undefined {
    return this.#events?.journalHold();
  }

  health(): ComponentHealth {
    const r = this.#retention.report;
    const details = {
      segments_indexed: this.#splits.segments,
      events_indexed: this.#events?.events ?? 0,
      data_bytes: r?.totalBytes ?? null,
      jobs_queued: this.#queue.queued,
      splits_failed: this.#splits.failed,
      free_bytes: r?.freeSpace?.free ?? null,
      free_target_bytes: r?.freeSpace?.target ?? null,
      ...this.#compaction.details,
    };
    const reasons = this.#retention.reasons();
    // The same failure (a catalog another process holds fails every job) is spelled out once.
    const said = new Set<string>();
    const say = (error: string) => {
      for (const e of said) if (error.startsWith(e)) return `the same${error.slice(e.length)}`;
      said.add(error);
      return error;
    };
    const failed = this.#splits.reason(say);
    if (failed) reasons.push(failed);
    for (const [kind, error] of this.#queue.failures) reasons.push(`${kind}: ${say(error)}`);
    return reasons.length > 0
      ? { state: 'degraded', reason: reasons.join('; '), details }
      : { state: 'running', details };
  }

  metrics(): MetricFamily[] {
    const retention = this.#retention;
    return [
      ...lakehouseMetrics({
        segmentsIndexed: this.#splits.segments,
        eventsIndexed: this.#events?.events ?? 0,
        indexFailures: this.#splits.failures,
        splitsFailed: this.#splits.failed,
        dataBytes: retention.report?.totalBytes ?? 0,
        lowFreeSpace: retention.lowSpace,
        deletedForSpace: retention.deletedForSpace,
      }),
      ...this.#compaction.metrics(),
    ];
  }

  async query(sql: string, options: QueryOptions = {}): Promise<QueryResult> {
    const { timeoutMs = this.#settings.query_timeout_ms, maxRows = this.#settings.query_max_rows, maxBytes } = options;
    // A query asked as the daemon starts waits for the catalog's tables (within its own timeout) rather than
    // failing with DuckDB's "Table with name projections does not exist".
    if (this.#started && !this.#setup.done) await this.#setup.ready(timeoutMs);
    // The stop interrupts a query in flight, as it interrupts an index job: the daemon's stop is bounded.
    return this.#queries.query(this.#dataDir, sql, { timeoutMs, maxRows, maxBytes, signal: this.#stopSignal.signal });
  }

  /** Indexes one closed split of a recorded bag (called by the recorder; see SplitIndexer for `byStop`). */
  indexRecordedSplit(file: string, bagDir: string, byStop = false): void {
    if (byStop) this.#closedByStop.add(indexJob(file));
    this.#splits.index(file, bagDir);
  }

  /**
   * Waits for the jobs queued so far (the recorder queues a split's index job as the split closes, before
   * `split()` resolves) and says whether `file` is in the catalog: `indexed`; `failed` with the error (it is
   * retried with backoff); `pending` when no index job of this lakehouse has seen it (it was stopped, or
   * restarted since: its start scan indexes what it lacks); `off` without lakehouse.index_recordings.
   */
  splitIndexing(file: string): Promise<SplitIndexing> {
    return this.#splits.status(file);
  }

  /** Marks segments as synced to central, so retention may delete them (called by the central link). */
  markSynced(segmentIds: readonly string[]): Promise<void> {
    return markSegmentsSynced(this.#dataDir, segmentIds);
  }

  /** Waits until no job is queued or running (tests, shutdown), including jobs queued by jobs (the start scan's). */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  /** Queues a compaction run (one merge); it queues the next while more are due, behind the jobs queued meanwhile. */
  #enqueueCompaction(): void {
    this.#queue.add('compact', async () => {
      if (await this.#compaction.run()) this.#enqueueCompaction();
      this.#enqueueSyncFiles();
    });
  }

  /** Central sync is on: the files indexed since the last pass get their sync rows (hashed), after the jobs queued. */
  #enqueueSyncFiles(): void {
    const filter = this.#sync;
    if (!filter) return;
    this.#queue.add('sync files', async () => {
      const added = await registerSyncFiles(this.#dataDir, filter, { timeoutMs: this.#catalogWaitMs });
      if (added > 0) this.#log.debug({ files: added }, 'lakehouse: files recorded as awaiting sync');
    });
  }

  /**
   * Runs every tickMs: queues the start's catalog work and the split retries that are due, and a retention pass
   * when free space is below its target.
   */
  async #tick(): Promise<void> {
    if (this.#ticking) return;
    this.#ticking = true;
    try {
      const now = this.#now();
      this.#setup.retryDue(now);
      this.#splits.retryDue(now);
      await this.#retention.checkSpace();
    } catch (error) {
      // statfs failing says nothing about space
      this.#log.debug({ err: errorText(error) }, 'lakehouse: free space check failed');
    } finally {
      this.#ticking = false;
    }
  }
}
