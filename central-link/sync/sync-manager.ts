import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { CentralSettings } from '../../daemon/config/index.ts';
import {
  findSyncFile,
  listSyncFiles,
  sha256File,
  type SyncFile,
  type SyncSummary,
} from '../../daemon/lakehouse/index.ts';
import { rateLimitedErrors } from '../../daemon/util/index.ts';
import {
  grantsValidator,
  type Complete,
  type GrantsMessage,
  type Lost,
  type MultipartGrant,
  type Offer,
  type SingleGrant,
} from '../sync-protocol.ts';
import type { Budget } from './budget.ts';
import { completeMessage, lostMessage, offerMessage } from './sync-messages.ts';
import { SyncRows } from './sync-rows.ts';
import { uploadFile, type UploadOutcome } from './uploader.ts';

export interface SyncManagerOptions {
  dataDir: string;
  robot: string;
  fleet: string;
  settings: CentralSettings['sync'];
  budget: Budget;
  /** Publishes on the uploads topic; resolves on the broker's PUBACK. */
  publish: (payload: string) => Promise<void>;
  log: Logger;
  /** How often the manager looks for work, ms (default 1000). */
  tickMs?: number;
  /** Wall clock, ms (grant expiry and `later` are wall times). */
  now?: () => number;
}

/** The upload under way, for `sync status`. */
export interface CurrentUpload {
  path: string;
  kind: string;
  size: number;
  /** Bytes of the file at the storage (acknowledged parts and this session's progress). */
  sent: number;
  bytes_per_s: number;
  eta_s: number | null;
}

export interface SyncStatus {
  online: boolean;
  paused: { by: 'central' | 'local' | 'window'; reason: string } | null;
  awaiting: { files: number; bytes: number };
  states: SyncSummary['states'];
  unreported_lost: number;
  current: CurrentUpload | null;
  last_error: string | null;
  /** Catalog updates failed (a full disk): uploads go on, what they did may be sent again after a restart. */
  degraded: string | null;
  uploads: { done: number; failed: number; bytes_sent: number };
  budget: ReturnType<Budget['stats']>;
}

const BACKOFF_MS = { first: 5000, max: 600_000 };
const MiB = 1024 * 1024;

/**
 * Bulk sync on the edge: offers the catalog's files awaiting sync on the uploads topic (oldest first, at most
 * `offers_per_s`, at most `max_outstanding_offers` unanswered), takes central's grants and uploads one file at
 * a time through the link's Budget, and records every step in the catalog's sync_files row before the next:
 * a restart, a kill -9 or a reconnect carries on from the row (an upload resumes from its acknowledged parts,
 * under the same upload id). Nothing here throws into the link: a bad grant is logged and dropped, a failed
 * catalog write degrades sync and is said in status.
 */
export class SyncManager {
  readonly #dataDir: string;
  readonly #robot: string;
  readonly #fleet: string;
  readonly #settings: CentralSettings['sync'];
  readonly #budget: Budget;
  readonly #publish: (payload: string) => Promise<void>;
  readonly #log: Logger;
  readonly #logErrors: ReturnType<typeof rateLimitedErrors>;
  readonly #tickMs: number;
  readonly #now: () => number;
  #online = false;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #pumping: Promise<void> | undefined;
  /** Work started by messages and timers, awaited by stop() so no catalog write outlives the component. */
  #inFlight = new Set<Promise<unknown>>();
  /** file_id -> when its offer went (wall ms), while unanswered. */
  #offered = new Map<string, number>();
  /** Grants waiting for the upload slot, by file id (a newer grant replaces an older one). */
  #grants = new Map<string, SingleGrant | MultipartGrant>();
  #uploading: Promise<void> | undefined;
  /** The file id whose grant the upload slot holds (from before its row says `uploading`). */
  #active: string | undefined;
  #abort: AbortController | undefined;
  #current: (CurrentUpload & { startedAt: number; startBytes: number }) | undefined;
  /** When each `complete` went (file id -> wall ms): one unconfirmed past offer_timeout_s is sent again. */
  #completed = new Map<string, number>();
  #pausedBy: { central?: string; local?: string } = {};
  readonly #rows: SyncRows;
  #lastError: string | undefined;
  #done = 0;
  #failed = 0;
  #bytesSent = 0;
  #offerCredit = 0;
  #lastPump = 0;

  constructor(options: SyncManagerOptions) {
    const { dataDir, robot, fleet, settings, budget, publish, log, tickMs = 1000, now = () => Date.now() } = options;
    this.#dataDir = dataDir;
    this.#robot = robot;
    this.#fleet = fleet;
    this.#settings = settings;
    this.#budget = budget;
    this.#publish = publish;
    this.#log = log;
    this.#logErrors = rateLimitedErrors(log);
    this.#rows = new SyncRows({ dataDir, log });
    this.#tickMs = tickMs;
    this.#now = now;
  }

  start(): void {
    this.#timer = setInterval(() => this.#kick(), this.#tickMs);
    this.#timer.unref();
    this.#kick();
  }

  /** Runs a pump pass in the background (one at a time), tracked for stop(). */
  #kick(): void {
    if (this.#pumping || this.#stopped) return;
    this.#pumping = this.#track(this.#pump()).finally(() => (this.#pumping = undefined));
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#inFlight.add(p);
    void p.finally(() => this.#inFlight.delete(p)).catch(() => undefined);
    return p;
  }

  /** Ends the upload under way (its row stays `uploading`: the next start offers it again with its upload id). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#abort?.abort();
    await this.#uploading;
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  /** Connected and subscribed: unanswered offers are sent again (central may have missed them). */
  online(): void {
    this.#online = true;
    this.#offered.clear();
    this.#completed.clear();
    this.#kick();
  }

  offline(): void {
    this.#online = false;
  }

  /** Pauses bulk (the CLI, the API: `local`; a BulkControl: `central`); either one holds it. */
  pause(by: 'central' | 'local', reason: string): void {
    this.#pausedBy[by] = reason;
    this.#budget.pauseBulk(`${by === 'central' ? 'central' : 'paused here'}: ${reason}`);
    this.#log.info({ by, reason }, 'sync: bulk uploads paused');
  }

  resume(by: 'central' | 'local'): void {
    delete this.#pausedBy[by];
    const other = this.#pausedBy.central ?? this.#pausedBy.local;
    if (other === undefined) this.#budget.resumeBulk();
    this.#log.info({ by, still_paused: other !== undefined }, 'sync: bulk uploads resumed');
    this.#kick();
  }

  /**
   * A message on the grants topic. Returns at once (0, PUBACK): while a message is handled the link reads
   * nothing else, so the work runs after; a message lost to a crash is an offer central answers again.
   */
  handle(payload: Buffer): Promise<number> {
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
    void this.#track(this.#take(message)).catch((error: unknown) =>
      this.#rows.failed('handling a grants message', error),
    );
    return Promise.resolve(0);
  }

  status(): SyncStatus {
    const c = this.#current;
    const windowPause = this.#budget.stats().bulk_paused;
    const paused = this.#pausedBy.local
      ? { by: 'local' as const, reason: this.#pausedBy.local }
      : this.#pausedBy.central
        ? { by: 'central' as const, reason: this.#pausedBy.central }
        : windowPause
          ? { by: 'window' as const, reason: windowPause }
          : null;
    return {
      online: this.#online,
      paused,
      awaiting: { files: this.#rows.summary.awaitingFiles, bytes: this.#rows.summary.awaitingBytes },
      states: this.#rows.summary.states,
      unreported_lost: this.#rows.summary.unreportedLost,
      current: c
        ? { path: c.path, kind: c.kind, size: c.size, sent: c.sent, bytes_per_s: c.bytes_per_s, eta_s: c.eta_s }
        : null,
      last_error: this.#lastError ?? null,
      degraded: this.#rows.degraded ?? null,
      uploads: { done: this.#done, failed: this.#failed, bytes_sent: this.#bytesSent },
      budget: this.#budget.stats(),
    };
  }

  /** Settles when no upload runs (tests). */
  async idle(): Promise<void> {
    while (this.#uploading) await this.#uploading;
  }

  async #take(m: GrantsMessage): Promise<void> {
    switch (m.type) {
      case 'grant':
        this.#offered.delete(m.file_id);
        this.#grants.set(m.file_id, m);
        this.#startUploads();
        return;
      case 'pause':
        return this.pause('central', m.reason ?? 'paused by central');
      case 'resume':
        return this.resume('central');
      default:
        break;
    }
    this.#offered.delete(m.file_id);
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
      this.#lastError = `central rejected ${row.path}: ${reason}; offered again`;
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

  #startUploads(): void {
    if (this.#uploading || this.#stopped) return;
    this.#uploading = (async () => {
      while (!this.#stopped) {
        const [fileId, grant] = this.#grants.entries().next().value ?? [];
        if (!fileId || !grant) break;
        this.#grants.delete(fileId);
        this.#active = fileId;
        await this.#upload(grant)
          .catch((error: unknown) => this.#rows.failed('an upload', error))
          .finally(() => (this.#active = undefined));
      }
    })().finally(() => (this.#uploading = undefined));
  }

  async #upload(grant: SingleGrant | MultipartGrant): Promise<void> {
    const row = await findSyncFile(this.#dataDir, grant.file_id);
    const abs = row ? join(this.#dataDir, row.path) : undefined;
    if (!row || ['lost', 'superseded'].includes(row.state)) {
      // Retention deleted it (or compaction merged it) before the grant came: central hears it is lost.
      await this.#sendLost(
        row,
        grant.file_id,
        row?.state === 'superseded'
          ? 'merged by compaction into another file, offered on its own'
          : (row?.lastError ?? 'deleted before it was uploaded'),
      );
      return;
    }
    // An old grant, come late (or again): what is stored, not wanted or completed is not sent again.
    if (row.state === 'stored' || row.state === 'not_wanted' || row.state === 'uploaded') return;
    if (!existsSync(abs!) || statSync(abs!).size !== row.size) {
      await this.#lose(row, 'gone from disk before it was uploaded (deleted by hand?)');
      return;
    }
    const sameUpload = grant.mode === 'multipart' && grant.upload_id === row.uploadId;
    const acked = sameUpload ? row.ackedParts : [];
    await this.#rows.update(row, {
      state: 'uploading',
      grantId: grant.grant_id,
      objectKey: grant.object_key,
      uploadId: grant.mode === 'multipart' ? grant.upload_id : undefined,
      grantExpiresAt: grant.expires_at,
      ackedParts: acked,
      attempts: row.attempts + 1,
    });
    const parts = new Map(acked.map((p) => [p.part_number, p]));
    const have = () => [...parts.values()].reduce((n, p) => n + p.size, 0);
    this.#current = {
      path: row.path,
      kind: row.kind,
      size: row.size,
      sent: have(),
      bytes_per_s: 0,
      eta_s: null,
      startedAt: this.#now(),
      startBytes: 0,
    };
    this.#abort = new AbortController();
    let outcome: UploadOutcome;
    try {
      outcome = await uploadFile(
        { path: abs!, size: row.size, sha256: row.sha256, grant, acked },
        {
          budget: this.#budget,
          signal: this.#abort.signal,
          onPart: async (p) => {
            parts.set(p.part_number, p);
            // Persisted before the next part: after a kill -9 the upload resumes past it. A failed write (a
            // full disk) costs at most a part sent again after a restart; the upload goes on.
            await this.#rows.update(row, { ackedParts: [...parts.values()], bytesSent: have() }, false);
          },
          onProgress: (bytes) => this.#progress(bytes),
        },
      );
    } finally {
      this.#current = undefined;
      this.#abort = undefined;
    }
    await this.#settle(row, grant, outcome);
  }

  #progress(bytes: number): void {
    const c = this.#current;
    if (!c) return;
    this.#bytesSent += bytes;
    c.startBytes += bytes;
    c.sent = Math.min(c.size, c.sent + bytes);
    const s = Math.max(0.001, (this.#now() - c.startedAt) / 1000);
    c.bytes_per_s = Math.round(c.startBytes / s);
    c.eta_s = c.bytes_per_s > 0 ? Math.round((c.size - c.sent) / c.bytes_per_s) : null;
  }

  async #settle(row: SyncFile, grant: SingleGrant | MultipartGrant, outcome: UploadOutcome): Promise<void> {
    const parts = 'parts' in outcome ? outcome.parts : [];
    switch (outcome.kind) {
      case 'done': {
        await this.#rows.update(row, {
          state: 'uploaded',
          ackedParts: parts,
          bytesSent: row.size,
          lastError: undefined,
        });
        await this.#sendComplete({
          ...row,
          grantId: grant.grant_id,
          objectKey: grant.object_key,
          ackedParts: parts,
          uploadId: grant.mode === 'multipart' ? grant.upload_id : undefined,
        });
        return;
      }
      case 'expired':
      case 'forbidden':
        // A new grant for the same upload: what the storage holds is kept (the offer names the upload id).
        await this.#rows.update(row, {
          state: 'awaiting',
          ackedParts: parts,
          lastError: `upload URL ${outcome.kind}: asking central again`,
        });
        await this.#offer({ ...row, ackedParts: parts }, outcome.kind);
        return;
      case 'gone': {
        await this.#lose(row, `the file changed or went during its upload: ${outcome.error}`);
        return;
      }
      case 'failed': {
        this.#failed++;
        this.#lastError = `${row.path}: ${outcome.error}`;
        const wait = Math.min(BACKOFF_MS.max, BACKOFF_MS.first * 2 ** Math.min(20, row.attempts));
        await this.#rows.update(row, {
          state: 'awaiting',
          ackedParts: parts,
          notBefore: this.#now() + wait,
          lastError: outcome.error,
        });
        this.#log.warn(
          { path: row.path, err: outcome.error, retry_in_ms: wait },
          'sync: an upload failed; offered again later',
        );
        return;
      }
      case 'aborted':
        await this.#rows.update(row, { ackedParts: parts }, false);
        return;
    }
  }

  /** Looks for work: lost files to report, completes to send again, offers to make. Never throws. */
  async #pump(): Promise<void> {
    try {
      // The summary first: an idle robot opens the catalog once a tick, not once per kind of work.
      const summary = await this.#rows.refreshSummary();
      if (!this.#online) return;
      if (summary.unreportedLost > 0)
        for (const row of await listSyncFiles(this.#dataDir, { states: ['lost'] }))
          if (!row.reported) await this.#sendLost(row, row.fileId, row.lastError ?? 'deleted before it was uploaded');
      if ((summary.states.uploaded?.files ?? 0) > 0)
        for (const row of await listSyncFiles(this.#dataDir, { states: ['uploaded'] }))
          if (this.#now() - (this.#completed.get(row.fileId) ?? -Infinity) > this.#settings.offer_timeout_s * 1000)
            await this.#sendComplete(row); // not confirmed in time (central or its storage was down): said again
      if (summary.awaitingFiles > 0) await this.#offerDue();
    } catch (error) {
      this.#rows.failed('looking for files to sync', error);
    }
  }

  async #offerDue(): Promise<void> {
    const now = this.#now();
    const elapsed = this.#lastPump === 0 ? 1 : (now - this.#lastPump) / 1000;
    this.#lastPump = now;
    const { offers_per_s: rate, max_outstanding_offers: max, offer_timeout_s: timeoutS } = this.#settings;
    this.#offerCredit = Math.min(Math.max(1, rate), this.#offerCredit + elapsed * rate);
    if (this.#pausedBy.central || this.#pausedBy.local) return;
    for (const [id, at] of this.#offered) if (now - at > timeoutS * 1000) this.#offered.delete(id);
    if (this.#offered.size >= max || this.#offerCredit < 1) return;
    const rows = await listSyncFiles(this.#dataDir, {
      states: ['awaiting', 'offered', 'uploading'],
      limit: 4 * max + 16,
    });
    for (const row of rows) {
      if (this.#offered.size >= max || this.#offerCredit < 1) break;
      if (this.#offered.has(row.fileId) || this.#grants.has(row.fileId)) continue;
      if (this.#active === row.fileId) continue; // its grant is being taken up now
      if (row.notBefore !== undefined && row.notBefore > now) continue;
      this.#offerCredit--;
      await this.#offer(
        row,
        row.state === 'uploading' ? 'resume' : row.lastError?.startsWith('central rejected') ? 'rejected' : 'new',
      );
    }
  }

  async #offer(row: SyncFile, reason: string): Promise<void> {
    if (!this.#online) return;
    if (row.state === 'awaiting') await this.#rows.update(row, { state: 'offered' });
    const partSize = this.#settings.part_size_mb;
    const offer = offerMessage(row, { robot: this.#robot, fleet: this.#fleet }, reason, partSize && partSize * MiB);
    this.#offered.set(row.fileId, this.#now());
    await this.#send(offer, row.path);
  }

  async #sendComplete(row: SyncFile): Promise<void> {
    if (!row.grantId || !row.objectKey) return;
    const complete = completeMessage(row, this.#robot);
    if (await this.#send(complete, row.path)) this.#completed.set(row.fileId, this.#now());
  }

  async #sendLost(row: SyncFile | undefined, fileId: string, reason: string): Promise<void> {
    const lost = lostMessage(row, fileId, this.#robot, reason);
    if ((await this.#send(lost, row?.path ?? fileId)) && row && !row.reported)
      await this.#rows.update(row, { reported: true }, false);
  }

  /** Publishes on the uploads topic; false when the broker did not take it (it is sent again later). */
  async #send(message: Offer | Complete | Lost, path: string): Promise<boolean> {
    const payload = JSON.stringify(message);
    try {
      await this.#budget.take(Buffer.byteLength(payload), 'control');
      await this.#publish(payload);
      return true;
    } catch (error) {
      if (message.type === 'offer') this.#offered.delete(message.file_id);
      this.#logErrors(
        'send',
        { err: (error as Error).message, path, type: message.type },
        'sync: a message to central was not sent; sent again later',
      );
      return false;
    }
  }
}
