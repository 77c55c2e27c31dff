import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { findSyncFile, sha256File, type SyncFile } from '../../daemon/lakehouse/index.ts';
import { rateLimitedErrors } from '../../daemon/util/index.ts';
import { grantsValidator, type GrantsMessage } from '../sync-protocol.ts';
import type { SyncStatus } from '../../daemon/contract/index.ts';
import type { Budget } from './budget.ts';
import { PauseState, syncPausePath, type PausedBy } from './pause-state.ts';
import { SyncRows } from './sync-rows.ts';
import { SyncSender, type SyncSenderOptions } from './sync-sender.ts';
import type { CurrentUpload } from './upload-progress.ts';
import { grantRefusal } from './grant-origins.ts';
import { UploadSlot, type LastError } from './upload-slot.ts';

export type { CurrentUpload };

/** The sender's options (robot, fleet, settings, budget, publish, ...), less what the manager makes itself. */
export interface SyncManagerOptions extends Omit<SyncSenderOptions, 'rows' | 'now' | 'online' | 'granted'> {
  /** How often the manager looks for work, ms (default 1000). */
  tickMs?: number;
  /** Wall clock, ms (grant expiry and `later` are wall times). */
  now?: () => number;
}

export type { SyncStatus };

/**
 * Bulk sync on the edge: offers the catalog's files awaiting sync on the uploads topic (oldest first, at most
 * `offers_per_s`, at most `max_outstanding_offers` unanswered), takes central's grants and uploads one file at
 * a time through the link's Budget, and records every step in the catalog's sync_files row before the next:
 * a restart, a kill -9 or a reconnect carries on from the row (an upload resumes from its acknowledged parts,
 * under the same upload id). A pause (central's, this robot's) is kept in `<data_dir>/state/sync-pause.json`
 * and holds across restarts until resumed. Nothing here throws into the link: a bad grant is logged and
 * dropped, a failed catalog write degrades sync and is said in status.
 */
export class SyncManager {
  readonly #dataDir: string;
  readonly #budget: Budget;
  readonly #log: Logger;
  readonly #logErrors: ReturnType<typeof rateLimitedErrors>;
  readonly #tickMs: number;
  readonly #now: () => number;
  #online = false;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  #pumping: Promise<void> | undefined;
  /** Work started by messages and timers, awaited by stop() so no catalog write outlives the component. */
  #inFlight = new Set<Promise<unknown>>();
  readonly #slot: UploadSlot;
  readonly #pauses: PauseState;
  readonly #rows: SyncRows;
  readonly #sender: SyncSender;
  #lastError: LastError | undefined;
  readonly #storageOrigins: readonly string[];
  /** Origins a grant named while none is pinned: each warned about once. */
  readonly #warnedOrigins = new Set<string>();
  /** Grants to an unpinned origin, and `stored` answers for files this robot has not uploaded. */
  readonly #refused = { grants: 0, stored: 0 };
  #done = 0;
  /** Looks for work finished (#pump), for a reader that waits until one came after a change. */
  #passes = 0;

  constructor(options: SyncManagerOptions) {
    const { dataDir, budget, log, tickMs = 1000, now = () => Date.now() } = options;
    this.#dataDir = dataDir;
    this.#budget = budget;
    this.#log = log;
    this.#logErrors = rateLimitedErrors(log);
    this.#storageOrigins = options.settings.storage_origins;
    this.#pauses = new PauseState({ path: syncPausePath(dataDir), log, now });
    this.#rows = new SyncRows({ dataDir, log });
    this.#tickMs = tickMs;
    this.#now = now;
    this.#sender = new SyncSender({
      ...options,
      rows: this.#rows,
      now,
      online: () => this.#online,
      granted: (fileId) => this.#slot.granted(fileId),
    });
    this.#slot = new UploadSlot({
      dataDir,
      rows: this.#rows,
      sender: this.#sender,
      budget,
      log,
      now,
      lose: (row, reason) => this.#lose(row, reason),
      setLastError: (error) => (this.#lastError = error),
    });
  }

  /** Applies the pause kept from before (the budget holds bulk before any upload starts), then looks for work. */
  start(): void {
    this.#pauses.load();
    for (const [by, { reason, since }] of Object.entries(this.#pauses.pauses))
      this.#log.info({ by, reason, since }, `sync: bulk uploads paused since ${since} by ${by}: ${reason}`);
    if (this.#pauses.paused) this.#applyPause();
    this.#timer = setInterval(() => this.#kick(), this.#tickMs);
    this.#timer.unref();
    this.#kick();
  }

  /** Runs a pump pass in the background (one at a time), tracked for stop(). */
  #kick(): void {
    if (this.#pumping || this.#closed) return;
    this.#pumping = this.#track(this.#pump()).finally(() => (this.#pumping = undefined));
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#inFlight.add(p);
    void p.finally(() => this.#inFlight.delete(p)).catch(() => undefined);
    return p;
  }

  /** Ends the upload under way (its row stays `uploading`: the next start offers it again with its upload id). */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#slot.close();
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  /** Connected and subscribed: unanswered offers are sent again (central may have missed them). */
  online(): void {
    this.#online = true;
    this.#sender.forget();
    this.#kick();
  }

  offline(): void {
    this.#online = false;
  }

  /**
   * Pauses bulk (the CLI, the API: `local`; a BulkControl: `central`); either one holds it, across restarts.
   * It takes effect at once; resolves once it is written (a failed write is the last error in status).
   */
  pause(by: PausedBy, reason: string): Promise<void> {
    const written = this.#track(this.#pauses.pause(by, reason));
    this.#applyPause();
    this.#log.info({ by, reason }, 'sync: bulk uploads paused');
    return written;
  }

  /** Lifts `by`'s pause (the other's holds); resolves once the pause file says so. */
  resume(by: PausedBy): Promise<void> {
    const written = this.#track(this.#pauses.resume(by));
    this.#applyPause();
    this.#log.info({ by, still_paused: this.#pauses.paused }, 'sync: bulk uploads resumed');
    this.#kick();
    return written;
  }

  /** The budget holds bulk while a pause is in force, naming the one status shows. */
  #applyPause(): void {
    const { local, central } = this.#pauses.pauses;
    if (local) this.#budget.pauseBulk(`paused here: ${local.reason}`);
    else if (central) this.#budget.pauseBulk(`central: ${central.reason}`);
    else this.#budget.resumeBulk();
  }

  /**
   * A message on the grants topic. Returns at once (0, PUBACK): while a message is handled the link reads
   * nothing else, so the work runs after; a message lost to a crash is an offer central answers again.
   * `signed`: central's key vouched for it (the link's signature check), so its grants may name the storage
   * when central.sync.storage_origins pins none.
   */
  handle(payload: Buffer, signed: boolean): Promise<number> {
    let message: unknown;
    try {
      message = JSON.parse(payload.toString('utf8'));
    } catch {
      this.#logErrors('grant', { bytes: payload.length }, 'sync: a grants message that is not JSON was dropped');
      return Promise.resolve(0);
    }
    if (!grantsValidator.check(message)) {
      const issue = grantsValidator.issues(message)[0];
      const problem = issue ? `${issue.path}: ${issue.message}` : 'not a grants message';
      this.#logErrors('grant', { problem }, 'sync: a grants message that does not match the protocol was dropped');
      return Promise.resolve(0);
    }
    void this.#track(this.#take(message, signed)).catch((error: unknown) =>
      this.#rows.failed('handling a grants message', error),
    );
    return Promise.resolve(0);
  }

  status(): SyncStatus {
    const { local, central } = this.#pauses.pauses;
    const windowPause = this.#budget.stats().bulk_paused;
    const paused = local
      ? { by: 'local' as const, ...local }
      : central
        ? { by: 'central' as const, ...central }
        : windowPause
          ? { by: 'window' as const, reason: windowPause }
          : null;
    return {
      online: this.#online,
      paused,
      awaiting: { files: this.#rows.summary.awaitingFiles, bytes: this.#rows.summary.awaitingBytes },
      states: this.#rows.summary.states,
      unreported_lost: this.#rows.summary.unreportedLost,
      passes: this.#passes,
      current: this.#slot.current ?? null,
      last_error: this.#pauses.problem ?? this.#lastError?.message ?? null,
      last_error_at:
        this.#pauses.problem === undefined && this.#lastError ? new Date(this.#lastError.at).toISOString() : null,
      degraded: this.#rows.degraded ?? null,
      uploads: { done: this.#done, failed: this.#slot.failed, bytes_sent: this.#slot.bytesSent },
      refused: { ...this.#refused },
      budget: this.#budget.stats(),
    };
  }

  /** Settles when no upload runs (tests). */
  idle(): Promise<void> {
    return this.#slot.idle();
  }

  async #take(m: GrantsMessage, signed: boolean): Promise<void> {
    switch (m.type) {
      case 'grant': {
        this.#sender.answered(m.file_id);
        const refusal = grantRefusal(m, this.#storageOrigins, this.#warnedOrigins, signed);
        if (refusal.warn)
          this.#log.info(
            { origin: refusal.warn },
            `sync: uploading to ${refusal.warn}, the storage central's signed grant names (central.sync.storage_origins pins none: pin it to hold uploads there whatever central's key signs)`,
          );
        if (refusal.refused) {
          this.#refused.grants++;
          this.#lastError = { message: refusal.refused, at: this.#now() };
          this.#logErrors('grant', { file_id: m.file_id, err: refusal.refused }, 'sync: a grant was refused');
          return;
        }
        this.#slot.take(m);
        return;
      }
      case 'pause':
        return this.pause('central', m.reason ?? 'paused by central');
      case 'resume':
        return this.resume('central');
      default:
        break;
    }
    this.#sender.answered(m.file_id);
    const row = await findSyncFile(this.#dataDir, m.file_id);
    if (!row) {
      this.#log.debug({ file_id: m.file_id, type: m.type }, 'sync: an answer for a file this robot does not know');
      return;
    }
    // Out of order: an answer to an earlier offer, come after the file was settled.
    if (m.type !== 'stored' && ['stored', 'not_wanted', 'lost', 'superseded'].includes(row.state)) return;
    if (m.type === 'later') {
      await this.#rows.update(row, {
        state: 'awaiting',
        notBefore: this.#now() + m.retry_after_s * 1000,
        lastError: `central: later (${m.reason})`,
      });
    } else if (m.type === 'not_wanted') {
      await this.#rows.update(row, { state: 'not_wanted', lastError: `central does not want it: ${m.reason}` });
    } else if (m.type === 'stored') {
      // Taken only for what this robot uploaded and said complete, under the grant's object key: a `stored` for a
      // file never uploaded would let retention delete the only copy.
      if (row.state === 'stored' && row.objectKey === m.object_key) return;
      if (row.state !== 'uploaded' || row.objectKey !== m.object_key) {
        this.#refused.stored++;
        this.#logErrors(
          'stored',
          { file_id: m.file_id, object_key: m.object_key, state: row.state },
          `sync: a 'stored' for ${row.path} refused: this robot has ${row.state === 'uploaded' ? `uploaded it as ${row.objectKey}` : `not uploaded it (${row.state})`}`,
        );
        return;
      }
      if (m.sha256 !== row.sha256 || m.size !== row.size) {
        await this.#rejected(row, `central stored ${m.size} bytes with sha256 ${m.sha256}, not this file's`);
        return;
      }
      await this.#rows.update(row, { state: 'stored', objectKey: m.object_key, lastError: undefined });
      this.#done++;
      this.#log.info({ path: row.path, object_key: m.object_key, bytes: row.size }, 'sync: stored at central');
    } else if (m.type === 'rejected') {
      await this.#rejected(row, m.reason);
    }
  }

  /** Central found the object wrong: the file is hashed again; the same bytes are offered afresh, others are lost. */
  async #rejected(row: SyncFile, reason: string): Promise<void> {
    const abs = join(this.#dataDir, row.path);
    const hash = existsSync(abs) ? await sha256File(abs).catch(() => undefined) : undefined;
    if (hash === row.sha256) {
      this.#lastError = { message: `central rejected ${row.path}: ${reason}; offered again`, at: this.#now() };
      await this.#rows.update(row, {
        state: 'awaiting',
        uploadId: undefined,
        ackedParts: [],
        bytesSent: 0,
        lastError: `central rejected: ${reason}`,
      });
      return;
    }
    await this.#lose(row, `changed or unreadable on the robot after central rejected it (${reason})`);
  }

  /** The row is lost: central is told (now when online, else at the next pass). */
  async #lose(row: SyncFile, reason: string): Promise<void> {
    await this.#rows.update(row, { state: 'lost', reported: false, lastError: reason });
    this.#log.warn({ path: row.path, bytes: row.size, reason }, 'sync: a file central had not got is lost');
    this.#kick();
  }

  /** Looks for work: lost files to report, completes to send again, offers to make. Never throws. */
  async #pump(): Promise<void> {
    try {
      // The summary first: an idle robot opens the catalog once a tick, not once per kind of work.
      const summary = await this.#rows.refreshSummary();
      if (!this.#online) return;
      if (summary.unreportedLost > 0) await this.#sender.reportLost();
      if ((summary.states.uploaded?.files ?? 0) > 0) await this.#sender.completeUnconfirmed();
      if (summary.awaitingFiles > 0) await this.#sender.offerDue(this.#pauses.paused);
    } catch (error) {
      this.#rows.failed('looking for files to sync', error);
    } finally {
      this.#passes++;
    }
  }
}
