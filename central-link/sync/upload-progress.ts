import type { CurrentUpload } from '../../daemon/contract/index.ts';

export type { CurrentUpload };

/** The upload under way, for `sync status`. */

/**
 * One upload's progress as status shows it: the bytes at the storage, and this session's rate and ETA (the
 * parts acknowledged before it started do not count towards the rate).
 */
export class UploadProgress {
  readonly #now: () => number;
  readonly #startedAt: number;
  #sessionBytes = 0;
  readonly #current: CurrentUpload;

  constructor(file: { path: string; kind: string; size: number }, sent: number, now: () => number) {
    const { path, kind, size } = file;
    this.#now = now;
    this.#startedAt = now();
    this.#current = { path, kind, size, sent, bytes_per_s: 0, eta_s: null };
  }

  get current(): CurrentUpload {
    return { ...this.#current };
  }

  /** `bytes` more were sent. */
  add(bytes: number): void {
    const c = this.#current;
    this.#sessionBytes += bytes;
    c.sent = Math.min(c.size, c.sent + bytes);
    const s = Math.max(0.001, (this.#now() - this.#startedAt) / 1000);
    c.bytes_per_s = Math.round(this.#sessionBytes / s);
    c.eta_s = c.bytes_per_s > 0 ? Math.round((c.size - c.sent) / c.bytes_per_s) : null;
  }
}
