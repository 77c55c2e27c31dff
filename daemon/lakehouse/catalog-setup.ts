import type { Logger } from 'pino';
import { Backoff, within, type BackoffOptions, type JobQueue } from '../util/index.ts';
import { lakehousePaths, withCatalog } from './catalog.ts';
import type { CatalogLockBackoff } from './catalog-lock.ts';
import { forgetMissingParquet, removeOrphanParquet, type ForgetReport } from './housekeeping.ts';

export interface CatalogSetupOptions {
  dataDir: string;
  log: Logger;
  catalogWaitMs: number | undefined;
  queue: JobQueue;
  lock: CatalogLockBackoff;
  /** Backoff between attempts that failed. */
  backoff: BackoffOptions;
  now: () => number;
  /** Aborted at the stop: a query waiting for the setup gives up. */
  signal: AbortSignal;
  /** Logs the parquet files the setup took off the catalog. */
  forgotten: (report: ForgetReport) => void;
  /** The setup is done: `indexed` holds the bag paths the catalog lists. */
  ready: (indexed: Set<string>) => void;
}

/**
 * The start's catalog work, queued as a job: make the catalog's tables, delete parquet no row lists, and take
 * files missing from disk off the catalog. The start does not wait for it (another process may hold the catalog
 * for as long as it likes); it is retried with a backoff until it succeeds, and queries wait for it.
 */
export class CatalogSetup {
  readonly #dataDir: string;
  readonly #log: Logger;
  readonly #catalogWaitMs: number | undefined;
  readonly #queue: JobQueue;
  readonly #lock: CatalogLockBackoff;
  readonly #backoff: Backoff;
  readonly #now: () => number;
  readonly #signal: AbortSignal;
  readonly #forgotten: (report: ForgetReport) => void;
  readonly #ready: (indexed: Set<string>) => void;
  #done = false;
  /** When the next attempt is due; Infinity while one waits or runs. */
  #retryAt = 0;
  #resolveDone!: () => void;
  /** Resolved when the setup is done: queries asked before it wait on it. */
  readonly #untilDone = new Promise<void>((resolve) => (this.#resolveDone = resolve));

  constructor(options: CatalogSetupOptions) {
    const { dataDir, log, catalogWaitMs, queue, lock, backoff, now, signal, forgotten, ready } = options;
    this.#dataDir = dataDir;
    this.#log = log;
    this.#catalogWaitMs = catalogWaitMs;
    this.#queue = queue;
    this.#lock = lock;
    this.#backoff = new Backoff(backoff);
    this.#now = now;
    this.#signal = signal;
    this.#forgotten = forgotten;
    this.#ready = ready;
  }

  get done(): boolean {
    return this.#done;
  }

  /** Queues the setup; the queue skips it while the catalog is locked, and it is due again after the lock's backoff. */
  enqueue(): void {
    this.#retryAt = Infinity; // not due again while this one waits or runs
    this.#queue.add(
      'start',
      () => this.#run(),
      () => void (this.#retryAt = this.#lock.retryAt),
    );
  }

  /** Queues the next attempt when one failed and its backoff has passed. */
  retryDue(now: number): void {
    if (!this.#done && now >= this.#retryAt) this.enqueue();
  }

  /** Resolves once the setup is done; past `ms`, or at the stop, fails saying what it waits for. */
  async ready(ms: number): Promise<void> {
    await within(this.#untilDone, ms, undefined, { signal: this.#signal });
    if (this.#done) return;
    const attempts = this.#backoff.failures;
    const why = this.#lock.held ?? (attempts > 0 ? `${attempts} attempts failed` : 'still making it');
    throw new Error(
      `the lakehouse is starting: its catalog is not ready yet (${why}); ask again in a moment` +
        (this.#signal.aborted ? ' (the daemon is stopping)' : ''),
    );
  }

  async #run(): Promise<void> {
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
          this.#forgotten(await forgetMissingParquet(conn, paths.tables));
          return new Set((await conn.runAndReadAll('SELECT path FROM bags')).getRows().map((r) => String(r[0])));
        },
        { timeoutMs: this.#catalogWaitMs },
      );
    } catch (error) {
      this.#retryAt = this.#now() + this.#backoff.next();
      throw error;
    }
    this.#done = true;
    this.#resolveDone();
    this.#ready(indexed);
  }
}
