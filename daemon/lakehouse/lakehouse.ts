import { mkdirSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Static } from 'typebox';
import type { DefinitionsRegistry } from '../bus/definitions.ts';
import { compileTopicSelection } from '../bus/glob.ts';
import type { LakehouseConfig, RetentionConfig } from '../config/sections/bags.ts';
import type { Journal, JournalHolder, LakehouseService, MetricFamily, MetricsProvider } from '../contract/services.ts';
import type { Component, ComponentHealth } from '../lifecycle/component.ts';
import { lakehousePaths, withCatalog } from './catalog.ts';
import { indexEvents } from './events-indexer.ts';
import { importBag, type ImportReport } from './importer.ts';
import { queryLakehouse, type QueryOptions, type QueryResult } from './query.ts';
import { applyRetention, type RetentionReport } from './retention.ts';
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
  /** Files retention must not touch (the split being recorded). */
  openFiles?: () => string[];
}

/**
 * The local lakehouse as a daemon component: it indexes recorded splits as they close, copies agent
 * events from the journal every `events_flush_s`, applies retention every `check_interval_s`, and answers
 * read-only SQL (LakehouseService). Work runs one job at a time, in the background: a failure is logged,
 * shown in health and retried at the next tick, never thrown at the recorder. A periodic job is skipped
 * while one of its kind is still waiting, so a slow disk doesn't grow the queue without bound.
 */
export class Lakehouse implements Component, LakehouseService, MetricsProvider, JournalHolder {
  readonly name = 'lakehouse';
  #o: LakehouseOptions;
  #select: (topic: string) => boolean;
  #jobs: Promise<void> = Promise.resolve();
  /** Kinds of periodic job queued and not yet started. */
  #waiting = new Set<string>();
  #queued = 0;
  #timers: NodeJS.Timeout[] = [];
  #lastError: string | undefined;
  #retention: RetentionReport | undefined;
  #indexed = 0;
  #events = 0;
  /** The last journal seq indexed into the events table; 0 until the first pass has run. */
  #indexedThrough = 0;

  constructor(options: LakehouseOptions) {
    this.#o = options;
    this.#select = compileTopicSelection(options.settings.project, options.settings.project_exclude);
  }

  async start(): Promise<void> {
    const paths = lakehousePaths(this.#o.dataDir);
    mkdirSync(paths.tables, { recursive: true });
    await withCatalog(paths.catalog, async () => undefined); // creates the catalog's tables now, not on first use
    const every = (seconds: number, kind: string, job: () => Promise<void>) => {
      const t = setInterval(() => this.#enqueue(job, kind), seconds * 1000);
      t.unref();
      this.#timers.push(t);
    };
    if (this.#o.journal) every(this.#o.settings.events_flush_s, 'events', () => this.#indexEvents());
    if (this.#o.retention.enabled) {
      every(this.#o.retention.check_interval_s, 'retention', () => this.#applyRetention());
      this.#enqueue(() => this.#applyRetention(), 'retention');
    }
  }

  async stop(): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    if (this.#o.journal) this.#enqueue(() => this.#indexEvents());
    await this.#jobs;
  }

  /** Journal retention keeps what the events table has not indexed yet (everything, until the first pass). */
  journalHold(): number | undefined {
    return this.#o.journal ? this.#indexedThrough + 1 : undefined;
  }

  health(): ComponentHealth {
    const details = { segments_indexed: this.#indexed, events_indexed: this.#events, data_bytes: this.#retention?.totalBytes ?? null, jobs_queued: this.#queued };
    if (this.#retention?.blocked) return { state: 'degraded', reason: `retention: ${this.#retention.blocked}`, details };
    if (this.#lastError) return { state: 'degraded', reason: this.#lastError, details };
    return { state: 'running', details };
  }

  metrics(): MetricFamily[] {
    return [
      { name: 'auraison_lakehouse_segments_indexed_total', help: 'Bag segments indexed into the lakehouse.', type: 'counter', samples: [{ value: this.#indexed }] },
      { name: 'auraison_lakehouse_events_indexed_total', help: 'Agent events written to the events table.', type: 'counter', samples: [{ value: this.#events }] },
      { name: 'auraison_data_bytes', help: 'Bags plus lakehouse tables on disk, as retention last measured.', type: 'gauge', samples: [{ value: this.#retention?.totalBytes ?? 0 }] },
    ];
  }

  query(sql: string, options: QueryOptions = {}): Promise<QueryResult> {
    const { timeoutMs = this.#o.settings.query_timeout_ms, maxRows = this.#o.settings.query_max_rows, maxBytes } = options;
    return queryLakehouse(this.#o.dataDir, sql, { timeoutMs, maxRows, maxBytes });
  }

  /** Indexes one closed split of a recorded bag (called by the recorder). */
  indexRecordedSplit(file: string, bagDir: string): void {
    if (!this.#o.settings.index_recordings) return;
    this.#enqueue(async () => {
      await this.#import(bagDir, [file], 'recorder');
    });
  }

  /** Marks segments as synced to central, so retention may delete them (called by the central link). */
  async markSynced(segmentIds: readonly string[]): Promise<void> {
    if (segmentIds.length === 0) return;
    await withCatalog(lakehousePaths(this.#o.dataDir).catalog, (conn) =>
      conn.run(`UPDATE bags SET sync_state = 'synced', synced_at = current_timestamp WHERE segment_id IN (${segmentIds.map(quoteString).join(', ')})`).then(() => undefined),
    );
  }

  /** Waits for queued jobs (tests, shutdown). */
  async idle(): Promise<void> {
    await this.#jobs;
  }

  async #import(path: string, only: string[] | undefined, source: 'import' | 'recorder'): Promise<ImportReport> {
    const { dataDir, robot, definitions, settings } = this.#o;
    const report = await importBag({ path, dataDir, robot, registry: definitions, source, only, project: this.#select, projectMaxBytes: settings.project_max_message_bytes, batchRows: settings.batch_rows });
    this.#indexed += report.segments.filter((s) => s.state === 'imported').length;
    for (const u of report.unknownTypes) this.#o.log.warn({ file: u.file, topic: u.topic, type: u.type, count: u.count }, `lakehouse: messages kept raw: ${u.reason}`);
    for (const c of report.corrupt) this.#o.log.warn({ file: c.file, topic: c.topic, type: c.type, count: c.count }, `lakehouse: messages that do not decode as their type kept raw (corrupt data): ${c.reason}`);
    return report;
  }

  async #indexEvents(): Promise<void> {
    const { rows, lastSeq } = await indexEvents({ journal: this.#o.journal!, dataDir: this.#o.dataDir, robot: this.#o.robot });
    this.#events += rows;
    this.#indexedThrough = lastSeq;
  }

  async #applyRetention(): Promise<void> {
    const report = await applyRetention({ dataDir: this.#o.dataDir, settings: this.#o.retention, syncRequired: this.#o.syncRequired, keep: this.#o.openFiles?.() ?? [] });
    for (const d of report.deleted) this.#o.log.info({ file: d.file, bytes: d.bytes, why: d.why }, 'retention: deleted');
    if (report.emptyDirsRemoved > 0) this.#o.log.debug({ dirs: report.emptyDirsRemoved }, 'retention: removed empty partition directories');
    if (report.blocked && report.blocked !== this.#retention?.blocked) this.#o.log.warn(`retention: ${report.blocked}`);
    this.#retention = report;
  }

  /** Queues a job; one of a periodic `kind` is skipped while another of that kind waits to start. */
  #enqueue(job: () => Promise<void>, kind?: string): void {
    if (kind !== undefined) {
      if (this.#waiting.has(kind)) return;
      this.#waiting.add(kind);
    }
    this.#queued++;
    this.#jobs = this.#jobs.then(async () => {
      if (kind !== undefined) this.#waiting.delete(kind);
      this.#queued--;
      try {
        await job();
        this.#lastError = undefined;
      } catch (error) {
        this.#lastError = (error as Error).message;
        this.#o.log.error({ err: this.#lastError }, 'lakehouse job failed; retried at the next tick');
      }
    });
  }
}
