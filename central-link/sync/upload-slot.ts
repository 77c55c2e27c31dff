import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { findSyncFile, type SyncFile } from '../../daemon/lakehouse/index.ts';
import { exponentialBackoff } from '../../daemon/util/index.ts';
import type { MultipartGrant, SingleGrant } from '../sync-protocol.ts';
import type { Budget } from './budget.ts';
import type { SyncRows } from './sync-rows.ts';
import type { SyncSender } from './sync-sender.ts';
import { UploadProgress, type CurrentUpload } from './upload-progress.ts';
import { uploadFile, type UploadOutcome } from './uploader.ts';

const BACKOFF_MS = { first: 5000, max: 600_000 };

/** What went wrong last, for status. */
export interface LastError {
  message: string;
  at: number;
}

export interface UploadSlotOptions {
  dataDir: string;
  rows: SyncRows;
  sender: SyncSender;
  budget: Budget;
  log: Logger;
  /** Wall clock, ms. */
  now: () => number;
  /** The row is lost: the manager marks it and tells central. */
  lose: (row: SyncFile, reason: string) => Promise<void>;
  /** Sets (or, once an upload is done, clears) the last error status shows. */
  setLastError: (error: LastError | undefined) => void;
}

/**
 * Uploads central's granted files one at a time, in the order the grants came (a newer grant for a file replaces an
 * older one), through the link's Budget, and records each step in the file's catalog row before the next. stop()
 * aborts the upload under way and waits for it.
 */
export class UploadSlot {
  readonly #dataDir: string;
  readonly #rows: SyncRows;
  readonly #sender: SyncSender;
  readonly #budget: Budget;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #lose: (row: SyncFile, reason: string) => Promise<void>;
  readonly #setLastError: (error: LastError | undefined) => void;
  #closed = false;
  /** Grants waiting for the upload slot, by file id (a newer grant replaces an older one). */
  readonly #grants = new Map<string, SingleGrant | MultipartGrant>();
  #uploading: Promise<void> | undefined;
  /** The file id whose grant the upload slot holds (from before its row says `uploading`). */
  #active: string | undefined;
  #abort: AbortController | undefined;
  #current: UploadProgress | undefined;
  failed = 0;
  bytesSent = 0;

  constructor({ dataDir, rows, sender, budget, log, now, lose, setLastError }: UploadSlotOptions) {
    this.#dataDir = dataDir;
    this.#rows = rows;
    this.#sender = sender;
    this.#budget = budget;
    this.#log = log;
    this.#now = now;
    this.#lose = lose;
    this.#setLastError = setLastError;
  }

  /** Whether a grant for the file waits or is being uploaded. */
  granted(fileId: string): boolean {
    return this.#grants.has(fileId) || this.#active === fileId;
  }

  /** Queues a grant and starts uploading when the slot is free. */
  take(grant: SingleGrant | MultipartGrant): void {
    this.#grants.set(grant.file_id, grant);
    this.#start();
  }

  /** The upload under way, for status. */
  get current(): CurrentUpload | undefined {
    return this.#current?.current;
  }

  /** Ends the upload under way (its row stays `uploading`: the next start offers it again with its upload id). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#abort?.abort();
    await this.#uploading;
  }

  /** Settles when no upload runs (tests). */
  async idle(): Promise<void> {
    while (this.#uploading) await this.#uploading;
  }

  #start(): void {
    if (this.#uploading || this.#closed) return;
    this.#uploading = (async () => {
      while (!this.#closed) {
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
      await this.#sender.lost(
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
    const progress = (this.#current = new UploadProgress(row, have(), this.#now));
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
          onProgress: (bytes) => {
            this.bytesSent += bytes;
            progress.add(bytes);
          },
        },
      );
    } finally {
      this.#current = undefined;
      this.#abort = undefined;
    }
    await this.#settle(row, grant, outcome);
  }

  async #settle(row: SyncFile, grant: SingleGrant | MultipartGrant, outcome: UploadOutcome): Promise<void> {
    const parts = 'parts' in outcome ? outcome.parts : [];
    switch (outcome.kind) {
      case 'done': {
        this.#setLastError(undefined); // what went wrong before is fixed: status says so
        await this.#rows.update(row, {
          state: 'uploaded',
          ackedParts: parts,
          bytesSent: row.size,
          lastError: undefined,
        });
        await this.#sender.complete({
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
        await this.#sender.offer({ ...row, ackedParts: parts }, outcome.kind);
        return;
      case 'gone': {
        await this.#lose(row, `the file changed or went during its upload: ${outcome.error}`);
        return;
      }
      case 'failed': {
        this.failed++;
        this.#setLastError({ message: `${row.path}: ${outcome.error}`, at: this.#now() });
        const wait = exponentialBackoff(row.attempts, { firstMs: BACKOFF_MS.first, maxMs: BACKOFF_MS.max });
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
      case 'aborted': {
        // Only the stop aborts an upload: the row stays `uploading` with its upload id, which the next start offers.
        await this.#rows.update(row, { ackedParts: parts }, false);
        const stored = parts.reduce((n, p) => n + p.size, 0);
        this.#log.info(
          { path: row.path, bytes: row.size, stored_bytes: stored, parts: parts.length, upload_id: row.uploadId },
          'sync: an upload was cut by the stop; the next start resumes it past the parts the storage has',
        );
        return;
      }
    }
  }
}
