import type { Logger } from 'pino';
import {
  syncSummary,
  updateSyncFile,
  type SyncFile,
  type SyncPatch,
  type SyncSummary,
} from '../../daemon/lakehouse/index.ts';
import { errorText, rateLimitedErrors } from '../../daemon/util/index.ts';

/**
 * The sync manager's hold on the catalog's sync_files rows: changes a row (and the row object with it),
 * keeps the counts by state for status, and remembers the last write that failed (a full disk), which is
 * what status and health call degraded until a write succeeds again.
 */
export class SyncRows {
  readonly #dataDir: string;
  readonly #logErrors: ReturnType<typeof rateLimitedErrors>;
  #summary: SyncSummary = { states: {}, awaitingFiles: 0, awaitingBytes: 0, unreportedLost: 0 };
  #summaryAsked = 0;
  #summaryShown = 0;
  #degraded: string | undefined;

  constructor(options: { dataDir: string; log: Logger }) {
    const { dataDir, log } = options;
    this.#dataDir = dataDir;
    this.#logErrors = rateLimitedErrors(log);
  }

  /** The counts by state, as last read. */
  get summary(): SyncSummary {
    return this.#summary;
  }

  /** The last catalog failure, until a write succeeds. */
  get degraded(): string | undefined {
    return this.#degraded;
  }

  /**
   * Changes `row` in the catalog, then in memory; a failure is logged and kept as degraded, and thrown
   * unless `rethrow` is false (a part's record: the upload goes on, at worst the part is sent again later).
   */
  async update(row: SyncFile, patch: SyncPatch, rethrow = true): Promise<void> {
    try {
      await updateSyncFile(this.#dataDir, row.path, patch);
      Object.assign(row, patch);
      this.#degraded = undefined;
      if (patch.state) await this.refreshSummary(); // status says it at once
    } catch (error) {
      this.failed(`recording ${row.path} as ${patch.state ?? 'updated'}`, error);
      if (rethrow) throw error;
    }
  }

  /**
   * Reads the counts again; a read that ends after a later one began is not shown (catalog calls take turns,
   * so the later one saw more).
   */
  async refreshSummary(): Promise<SyncSummary> {
    const asked = ++this.#summaryAsked;
    const summary = await syncSummary(this.#dataDir);
    if (asked > this.#summaryShown) {
      this.#summaryShown = asked;
      this.#summary = summary;
    }
    return summary;
  }

  /** A catalog call failed: said in the log (rate-limited) and kept for status. */
  failed(what: string, error: unknown): void {
    this.#degraded = `${what} failed: ${errorText(error)}`;
    this.#logErrors(
      'catalog',
      { err: errorText(error), what },
      'sync: a catalog update failed; sync carries on from what the catalog holds',
    );
  }
}
