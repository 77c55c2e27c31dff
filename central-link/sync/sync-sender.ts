import type { Logger } from 'pino';
import type { CentralSettings } from '../../daemon/config/index.ts';
import { listSyncFiles, type SyncFile } from '../../daemon/lakehouse/index.ts';
import { errorText, rateLimitedErrors } from '../../daemon/util/index.ts';
import type { Complete, Lost, Offer } from '../sync-protocol.ts';
import type { Budget } from './budget.ts';
import { completeMessage, lostMessage, offerMessage } from './sync-messages.ts';
import type { SyncRows } from './sync-rows.ts';

export interface SyncSenderOptions {
  dataDir: string;
  robot: string;
  fleet: string;
  settings: CentralSettings['sync'];
  budget: Budget;
  /** Publishes on the uploads topic; resolves on the broker's PUBACK. */
  publish: (payload: string) => Promise<void>;
  rows: SyncRows;
  log: Logger;
  /** Wall clock, ms. */
  now: () => number;
  /** Whether the link is up: nothing is offered while it is down (the next pass after a reconnect offers). */
  online: () => boolean;
  /** Whether a grant for the file waits for the upload slot or holds it: such a file is not offered again. */
  granted: (fileId: string) => boolean;
}

const MiB = 1024 * 1024;

/**
 * What the edge says on the uploads topic: offers (oldest first, at most `offers_per_s`, at most
 * `max_outstanding_offers` unanswered), `complete`s sent again until central confirms them, and `lost` reports.
 * Callers send while the link is online; a message the broker did not take is sent again by a later pass.
 */
export class SyncSender {
  readonly #dataDir: string;
  readonly #robot: string;
  readonly #fleet: string;
  readonly #settings: CentralSettings['sync'];
  readonly #budget: Budget;
  readonly #publish: (payload: string) => Promise<void>;
  readonly #rows: SyncRows;
  readonly #logErrors: ReturnType<typeof rateLimitedErrors>;
  readonly #now: () => number;
  readonly #online: () => boolean;
  readonly #granted: (fileId: string) => boolean;
  /** file_id -> when its offer went (wall ms), while unanswered. */
  #offered = new Map<string, number>();
  /** When each `complete` went (file id -> wall ms): one unconfirmed past offer_timeout_s is sent again. */
  #completed = new Map<string, number>();
  #offerCredit = 0;
  #lastPass = 0;

  constructor(options: SyncSenderOptions) {
    const { dataDir, robot, fleet, settings, budget, publish, rows, log, now, online, granted } = options;
    this.#dataDir = dataDir;
    this.#robot = robot;
    this.#fleet = fleet;
    this.#settings = settings;
    this.#budget = budget;
    this.#publish = publish;
    this.#rows = rows;
    this.#logErrors = rateLimitedErrors(log);
    this.#now = now;
    this.#online = online;
    this.#granted = granted;
  }

  /** A reconnect: unanswered offers and unconfirmed completes go again (central may have missed them). */
  forget(): void {
    this.#offered.clear();
    this.#completed.clear();
  }

  /** Central answered about the file: its offer no longer counts as outstanding. */
  answered(fileId: string): void {
    this.#offered.delete(fileId);
  }

  /** Reports the lost files central has not heard of. */
  async reportLost(): Promise<void> {
    for (const row of await listSyncFiles(this.#dataDir, { states: ['lost'] }))
      if (!row.reported) await this.lost(row, row.fileId, row.lastError ?? 'deleted before it was uploaded');
  }

  /** Says `complete` again for uploads central did not confirm in time (central or its storage was down). */
  async completeUnconfirmed(): Promise<void> {
    for (const row of await listSyncFiles(this.#dataDir, { states: ['uploaded'] }))
      if (this.#now() - (this.#completed.get(row.fileId) ?? -Infinity) > this.#settings.offer_timeout_s * 1000)
        await this.complete(row);
  }

  /** Offers what awaits, within the rate and the outstanding bound; while `paused` the credit grows, no offer goes. */
  async offerDue(paused: boolean): Promise<void> {
    const now = this.#now();
    const elapsed = this.#lastPass === 0 ? 1 : (now - this.#lastPass) / 1000;
    this.#lastPass = now;
    const { offers_per_s: rate, max_outstanding_offers: max, offer_timeout_s: timeoutS } = this.#settings;
    this.#offerCredit = Math.min(Math.max(1, rate), this.#offerCredit + elapsed * rate);
    if (paused) return;
    for (const [id, at] of this.#offered) if (now - at > timeoutS * 1000) this.#offered.delete(id);
    if (this.#offered.size >= max || this.#offerCredit < 1) return;
    const rows = await listSyncFiles(this.#dataDir, {
      states: ['awaiting', 'offered', 'uploading'],
      limit: 4 * max + 16,
    });
    for (const row of rows) {
      if (this.#offered.size >= max || this.#offerCredit < 1) break;
      if (this.#offered.has(row.fileId) || this.#granted(row.fileId)) continue;
      if (row.notBefore !== undefined && row.notBefore > now) continue;
      this.#offerCredit--;
      await this.offer(
        row,
        row.state === 'uploading' ? 'resume' : row.lastError?.startsWith('central rejected') ? 'rejected' : 'new',
      );
    }
  }

  async offer(row: SyncFile, reason: string): Promise<void> {
    if (!this.#online()) return;
    if (row.state === 'awaiting') await this.#rows.update(row, { state: 'offered' });
    const partSize = this.#settings.part_size_mb;
    const offer = offerMessage(row, { robot: this.#robot, fleet: this.#fleet }, reason, partSize && partSize * MiB);
    this.#offered.set(row.fileId, this.#now());
    await this.#send(offer, row.path);
  }

  async complete(row: SyncFile): Promise<void> {
    if (!row.grantId || !row.objectKey) return;
    const complete = completeMessage(row, this.#robot);
    if (await this.#send(complete, row.path)) this.#completed.set(row.fileId, this.#now());
  }

  async lost(row: SyncFile | undefined, fileId: string, reason: string): Promise<void> {
    const lost = lostMessage(row, fileId, this.#robot, reason);
    if ((await this.#send(lost, row?.path ?? fileId)) && row && !row.reported)
      await this.#rows.update(row, { reported: true }, false);
  }

  /** Publishes on the uploads topic; false when the broker did not take it (it is sent again later). */
  async #send(message: Offer | Complete | Lost, path: string): Promise<boolean> {
    // Offline (the link dropped, or is closing for the daemon's stop): not sent now, sent again once online.
    if (!this.#online()) {
      if (message.type === 'offer') this.#offered.delete(message.file_id);
      return false;
    }
    const payload = JSON.stringify(message);
    try {
      await this.#budget.take(Buffer.byteLength(payload), 'control');
      await this.#publish(payload);
      return true;
    } catch (error) {
      if (message.type === 'offer') this.#offered.delete(message.file_id);
      this.#logErrors(
        'send',
        { err: errorText(error), path, type: message.type },
        'sync: a message to central was not sent; sent again later',
      );
      return false;
    }
  }
}
