import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Static } from 'typebox';
import type { DefinitionsRegistry } from '../bus/index.ts';
import { compileBagTopicSelection } from '../bus/index.ts';
import type { LakehouseConfig } from '../config/index.ts';
import type { SplitIndexing } from '../contract/index.ts';
import { errorText, exponentialBackoff, type BackoffOptions, type JobQueue } from '../util/index.ts';
import { CatalogLockedError } from './catalog.ts';
import type { CatalogLockBackoff } from './catalog-lock.ts';
import { importBag } from './importer.ts';
import { oversizedLine } from './oversized.ts';
import { unindexedSplits } from './recorded-splits.ts';
import type { RecorderActivity } from './retention.ts';

/** How many recently indexed split paths splitIndexing remembers. */
const INDEXED_FILES_KEPT = 1000;

/** The lakehouse queue's job that indexes the split `file`. */
export function indexJob(file: string): string {
  return `index ${file}`;
}

/** Whether a job of the lakehouse's queue is a split's index job (which settles its failures itself). */
export function isIndexJob(kind: string): boolean {
  return kind.startsWith('index ');
}

/** A recorded split whose indexing failed, waiting for its retry. */
interface FailedSplit {
  bagDir: string;
  error: string;
  attempts: number;
  retryAt: number;
}

export interface SplitIndexerOptions {
  dataDir: string;
  robot: string;
  definitions: DefinitionsRegistry;
  log: Logger;
  settings: Static<typeof LakehouseConfig>;
  catalogWaitMs: number | undefined;
  /** What the recorder holds, when one runs: the start scan leaves its splits to it. */
  recording: (() => RecorderActivity) | undefined;
  queue: JobQueue;
  lock: CatalogLockBackoff;
  /** Backoff between retries of a split whose indexing failed. */
  backoff: BackoffOptions;
  now: () => number;
  /** Aborted at the stop: the split being indexed is dropped between two batches. */
  signal: AbortSignal;
  /** A split indexed: its files get their sync rows. */
  indexed: () => void;
  /** An index job the stop interrupted: the next start does it. */
  interrupted: (kind: string) => void;
}

/**
 * Indexes recorded splits into the lakehouse as the recorder closes them, one queued job per split. A split that
 * fails is kept with its error and retried with a backoff that doubles per failure (`retryDue`); one skipped
 * while another process holds the catalog waits for the lock's backoff instead.
 */
export class SplitIndexer {
  readonly #dataDir: string;
  readonly #robot: string;
  readonly #definitions: DefinitionsRegistry;
  readonly #log: Logger;
  readonly #settings: Static<typeof LakehouseConfig>;
  readonly #catalogWaitMs: number | undefined;
  readonly #recording: (() => RecorderActivity) | undefined;
  readonly #queue: JobQueue;
  readonly #lock: CatalogLockBackoff;
  readonly #backoff: BackoffOptions;
  readonly #now: () => number;
  readonly #signal: AbortSignal;
  readonly #indexed: () => void;
  readonly #interrupted: (kind: string) => void;
  readonly #select: (topic: string) => boolean;
  #failed = new Map<string, FailedSplit>();
  /** The recorded splits indexed last, oldest first (for status). */
  #indexedFiles = new Set<string>();
  /** Topics whose oversized messages were logged (once per topic). */
  #oversizedTopics = new Set<string>();
  #segments = 0;
  #failures = 0;

  constructor(options: SplitIndexerOptions) {
    const { dataDir, robot, definitions, log, settings, catalogWaitMs, recording, queue, lock } = options;
    const { backoff, now, signal, indexed, interrupted } = options;
    this.#dataDir = dataDir;
    this.#robot = robot;
    this.#definitions = definitions;
    this.#log = log;
    this.#settings = settings;
    this.#catalogWaitMs = catalogWaitMs;
    this.#recording = recording;
    this.#queue = queue;
    this.#lock = lock;
    this.#backoff = backoff;
    this.#now = now;
    this.#signal = signal;
    this.#indexed = indexed;
    this.#interrupted = interrupted;
    this.#select = compileBagTopicSelection(settings.project, settings.project_exclude);
  }

  /** Segments indexed since the start. */
  get segments(): number {
    return this.#segments;
  }

  /** Failed attempts to index a split since the start. */
  get failures(): number {
    return this.#failures;
  }

  /** Splits whose indexing failed, waiting for a retry. */
  get failed(): number {
    return this.#failed.size;
  }

  /** Whether the index job `kind` (indexJob) has indexed its split, as far as the files kept in memory tell. */
  hasIndexed(kind: string): boolean {
    return this.#indexedFiles.has(kind.slice(indexJob('').length));
  }

  /** Queues one closed split of a recorded bag. */
  index(file: string, bagDir: string): void {
    if (!this.#settings.index_recordings) return;
    this.#enqueue(file, bagDir);
  }

  /** Queues the finished recorded splits the catalog lacks (`indexed`: the bag paths it lists), at the start. */
  catchUp(indexed: Set<string>): void {
    if (!this.#settings.index_recordings) return;
    const splits = unindexedSplits(
      join(this.#dataDir, 'bags'),
      indexed,
      this.#recording?.() ?? { files: [], bags: [], closing: [] },
    );
    if (splits.length > 0)
      this.#log.info({ splits: splits.length }, 'lakehouse: indexing recorded splits not in the catalog');
    for (const s of splits) this.index(s.file, s.bagDir);
  }

  /** Queues the retries that are due. */
  retryDue(now: number): void {
    for (const [file, f] of this.#failed) {
      if (now < f.retryAt) continue;
      // Not due again while this retry waits or runs: its outcome sets the next retryAt (or ends the entry).
      f.retryAt = Infinity;
      this.#enqueue(file, f.bagDir);
    }
  }

  /** A catalog write went through: the lock another process held (if any) is gone, and every split waiting is due. */
  catalogFree(): void {
    if (!this.#lock.clear()) return;
    for (const f of this.#failed.values()) if (f.retryAt !== Infinity) f.retryAt = 0;
  }

  /** See LakehouseService.splitIndexing: waits for the jobs queued so far, then says where `file` stands. */
  async status(file: string): Promise<SplitIndexing> {
    if (!this.#settings.index_recordings)
      return {
        state: 'off',
        reason: 'lakehouse.index_recordings is false: recorded splits are not indexed (bag import indexes them)',
      };
    await this.#queue.settled();
    const skipped = this.#failed.get(file);
    if (skipped && this.#lock.held !== undefined && !this.#queue.closed) {
      // Skipped, or failed, on a catalog another process held. Asked for now (the shell that held it may be
      // closed since): tried once now, not after the lock's backoff, which grows to 10 minutes.
      this.#lock.retryNow();
      skipped.retryAt = Infinity; // retryDue leaves it alone: this attempt sets the next retry
      this.#enqueue(file, skipped.bagDir);
      await this.#queue.settled();
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
      reason: this.#queue.closed
        ? 'the lakehouse is stopped; its next start indexes the split'
        : 'the lakehouse has not been handed this split (restarted since it closed?); its start scan indexes it',
    };
  }

  /** Why health is degraded by failed splits (the first named, its error through `say`), or undefined. */
  reason(say: (error: string) => string): string | undefined {
    const first = this.#failed.entries().next().value;
    if (!first) return undefined;
    const [file, f] = first;
    const retry =
      f.retryAt === Infinity
        ? 'retrying now'
        : `retrying in ${Math.max(0, Math.round((f.retryAt - this.#now()) / 1000))} s`;
    return `indexing failed for ${this.#failed.size} recorded split(s), first ${file}: ${say(f.error)}; ${retry}`;
  }

  #enqueue(file: string, bagDir: string): void {
    this.#queue.add(
      indexJob(file),
      () => this.#indexSplit(file, bagDir),
      () => this.#waitForLock(file, bagDir),
    );
  }

  /** Indexes one split; a failure goes to the retry set (see retryDue) instead of being thrown. */
  async #indexSplit(file: string, bagDir: string): Promise<void> {
    try {
      await this.#import(bagDir, file);
      this.#indexed();
      this.#failed.delete(file);
      this.#indexedFiles.add(file);
      if (this.#indexedFiles.size > INDEXED_FILES_KEPT)
        this.#indexedFiles.delete(this.#indexedFiles.values().next().value!);
      this.catalogFree();
    } catch (error) {
      if (this.#signal.aborted) return void this.#interrupted(indexJob(file));
      if (error instanceof CatalogLockedError) this.#lock.failed(error.message);
      if (!existsSync(file)) {
        this.#failed.delete(file); // retention deleted it meanwhile: nothing left to index
        return;
      }
      const attempts = (this.#failed.get(file)?.attempts ?? 0) + 1;
      const wait = exponentialBackoff(attempts - 1, this.#backoff);
      const message = errorText(error);
      this.#failed.set(file, { bagDir, error: message, attempts, retryAt: this.#now() + wait });
      this.#failures++;
      this.#log.error(
        { file, err: message, attempts },
        `lakehouse: indexing a recorded split failed; retrying in ${wait} ms`,
      );
    }
  }

  /** A split's index job skipped while the catalog is locked: it waits in the retry set until the lock's backoff. */
  #waitForLock(file: string, bagDir: string): void {
    const f = this.#failed.get(file);
    this.#failed.set(file, {
      bagDir,
      error: this.#lock.held!,
      attempts: f?.attempts ?? 0,
      retryAt: this.#lock.retryAt,
    });
  }

  async #import(bagDir: string, file: string): Promise<void> {
    const settings = this.#settings;
    const report = await importBag({
      path: bagDir,
      dataDir: this.#dataDir,
      robot: this.#robot,
      registry: this.#definitions,
      source: 'recorder',
      only: [file],
      project: this.#select,
      projectMaxBytes: settings.project_max_message_bytes,
      batchRows: settings.batch_rows,
      catalogWaitMs: this.#catalogWaitMs,
      signal: this.#signal,
    });
    this.#segments += report.segments.filter((s) => s.state === 'imported').length;
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
        { file: bagDir, topic: o.topic, count: o.count, largest: o.largest },
        `lakehouse: ${oversizedLine(o, settings.project_max_message_bytes)} (said once per topic)`,
      );
    }
  }
}
