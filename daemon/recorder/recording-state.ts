import { exponentialBackoff } from '../util/index.ts';
import type { FreeSpace } from './segment-io.ts';

/**
 * Free inodes below which recording stops, and above which it resumes: a bag takes a directory, its
 * marker, metadata.yaml and its temporary file, and one per split. Many small files (parquet) can use up
 * a file system's inodes while bytes are left, and then every create fails with ENOSPC.
 */
export const MIN_FREE_INODES = 16;

export type RecordingStatus = 'stopped' | 'recording' | 'disk_full' | 'failed';

export interface RecordingStateOptions {
  /** recorder.min_free_bytes. */
  minFreeBytes: number;
  /**
   * Backoff after an I/O error, and after a failed resume from a full disk: first wait and cap, ms; doubles per
   * failure.
   */
  retryMs?: { first: number; max: number };
  /** Wall clock, ms. */
  now: () => number;
}

/**
 * Whether the recorder records and, when it does not, why (health's reason) and when it tries again:
 * `disk_full` waits for free space, `failed` waits out a backoff that doubles per failure, so a broken
 * disk doesn't get a new bag directory every second. The backoff starts again from its first step only
 * once data has reached the disk (`confirmed`).
 */
export class RecordingState {
  #minFreeBytes: number;
  #first: number;
  #max: number;
  #now: () => number;
  #status: RecordingStatus = 'stopped';
  #reason: string | undefined;
  /** I/O failures since recording last wrote data successfully, and when the next retry is due. */
  #failures = 0;
  #retryAt = 0;
  /** When recording stopped for a full disk, and why: kept in the reason while resumes fail. */
  #fullSince: { at: string; cause: string } | undefined;
  /** A resume from a full disk is unconfirmed until data reaches the disk: stopping again before that backs off. */
  #unconfirmed = false;
  /** Free space at the last disk check. */
  space: FreeSpace | undefined;

  constructor(options: RecordingStateOptions) {
    const { minFreeBytes, retryMs: { first = 1000, max = 60_000 } = {}, now } = options;
    this.#minFreeBytes = minFreeBytes;
    this.#first = first;
    this.#max = max;
    this.#now = now;
  }

  get status(): RecordingStatus {
    return this.#status;
  }

  /** Why recording is stopped (disk_full, failed). */
  get reason(): string | undefined {
    return this.#reason;
  }

  /** Recording started (start()), or ended (close()). */
  set(status: 'recording' | 'stopped'): void {
    this.#status = status;
  }

  /** Whether the backoff of the last failure has run out. */
  retryDue(): boolean {
    return this.#now() >= this.#retryAt;
  }

  /** Data reached the disk: the next I/O error starts the backoff from its first step again. */
  confirmed(): void {
    this.#failures = 0;
    this.#unconfirmed = false;
  }

  /** What is short on the disk for recording, or undefined when there is room. */
  shortage(space: FreeSpace): string | undefined {
    if (space.bytes < this.#minFreeBytes)
      return `only ${space.bytes} bytes free, below recorder.min_free_bytes (${this.#minFreeBytes})`;
    if (space.inodes < MIN_FREE_INODES) return `only ${space.inodes} inodes free, below ${MIN_FREE_INODES}`;
    return undefined;
  }

  /**
   * disk_full (waits for free space) or failed (waits out a backoff); returns the reason. Called while
   * recording (it stops), or when a resume failed: then disk_full too waits out the backoff, since statfs
   * said there was room and there was not (min_free_bytes 0, no inodes, another writer).
   */
  stopped(error: NodeJS.ErrnoException): string {
    const full = isFullDisk(error);
    const at = new Date(this.#now()).toISOString();
    // A resume that failed, or one whose first writes failed: statfs said there was room and there was not.
    const resuming = this.#status === 'disk_full' || this.#status === 'failed' || this.#unconfirmed;
    const what = `${error.code && !error.message.startsWith(error.code) ? `${error.code}: ` : ''}${error.message}`;
    if (full) {
      const need = `resumes once ${this.#minFreeBytes} bytes and ${MIN_FREE_INODES} inodes are free`;
      if (!resuming || this.#status !== 'disk_full' || !this.#fullSince) this.#fullSince = { at, cause: what };
      const since = `disk full: recording stopped at ${this.#fullSince.at} (${this.#fullSince.cause})`;
      if (resuming) {
        const space = this.space ? `, with ${this.space.bytes} bytes and ${this.space.inodes} inodes free` : '';
        const wait = this.#backoff();
        this.#reason = `${since}; resuming failed at ${at} (${what}${space}); retrying in ${wait} ms (failure ${this.#failures} in a row), and ${need}`;
      } else {
        this.#retryAt = 0;
        this.#reason = `${since}; ${need}`;
      }
      this.#status = 'disk_full';
    } else {
      const wait = this.#backoff();
      this.#status = 'failed';
      this.#reason = `recording failed at ${at}: ${what}; retrying in ${wait} ms (failure ${this.#failures} in a row)`;
    }
    return this.#reason;
  }

  /** Recording again after disk_full or failed; returns the state it came back from. */
  resumed(): RecordingStatus {
    const was = this.#status;
    this.#status = 'recording';
    this.#reason = undefined;
    this.#fullSince = undefined;
    this.#unconfirmed = was === 'disk_full';
    return was;
  }

  #backoff(): number {
    const wait = exponentialBackoff(this.#failures, { firstMs: this.#first, maxMs: this.#max });
    this.#failures++;
    this.#retryAt = this.#now() + wait;
    return wait;
  }
}

export function isFullDisk(error: NodeJS.ErrnoException): boolean {
  return error.code === 'ENOSPC' || error.code === 'EDQUOT';
}
