import type { BudgetStats, SyncPriority } from '../../daemon/contract/index.ts';

/** Who is sending: heartbeats and acks first, events next, bulk uploads last. */
export type Priority = SyncPriority;

/** A local-time window (`HH:MM` to `HH:MM`, may cross midnight) when bulk may send, at its own rate if given. */
export interface BudgetWindow {
  start: string;
  end: string;
  /** The window's rate; absent: the budget's own `bytesPerS`. 0 = unlimited. */
  bytes_per_s?: number;
}

export interface BudgetOptions {
  /** Bytes per second for the whole link; 0 = unlimited. */
  bytesPerS: number;
  /**
   * When given, bulk sends only inside a window (at the window's rate); outside every window bulk waits,
   * while control and events go on at `bytesPerS`.
   */
  windows?: BudgetWindow[];
  /** Monotonic ms (the bucket's clock). */
  now?: () => number;
  /** Wall-clock ms since the epoch, read in local time for the windows. */
  wallNow?: () => number;
}

export type { BudgetStats };

interface Waiter {
  bytes: number;
  priority: 'events' | 'bulk';
  resolve: () => void;
  reject: (e: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/** Smallest bucket: one 64 KiB chunk, so a chunked sender is never starved by a tiny burst allowance. */
const MIN_BURST = 64 * 1024;
/** Outside every window, look again at least this often (a window may open, the wall clock may step). */
const WINDOW_RECHECK_MS = 30_000;

/**
 * One bandwidth budget for the whole link: a token bucket holding at most 100 ms of the rate (or one
 * 64 KiB chunk). Control is never delayed but its bytes are counted (the bucket goes into debt); events
 * are served before bulk, and bulk waits while any event waits. Waiters of one priority are served in
 * order. A take() larger than the bucket is granted when the bucket is full, and leaves it in debt.
 */
export class Budget {
  #rate: number;
  #windows: { start: number; end: number; rate: number | undefined }[] | undefined;
  #now: () => number;
  #wallNow: () => number;
  #tokens: number;
  #last: number;
  #pausedReason: string | undefined;
  #queues: { events: Waiter[]; bulk: Waiter[] } = { events: [], bulk: [] };
  #sent: Record<Priority, number> = { control: 0, events: 0, bulk: 0 };
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(o: BudgetOptions) {
    const { bytesPerS, windows, now = () => performance.now(), wallNow = () => Date.now() } = o;
    this.#rate = Math.max(0, bytesPerS);
    this.#windows = windows?.map((w) => ({
      start: parseClock(w.start),
      end: parseClock(w.end),
      rate: w.bytes_per_s,
    }));
    this.#now = now;
    this.#wallNow = wallNow;
    this.#last = now();
    this.#tokens = this.#capacity(this.#rate);
  }

  /** Resolves when `bytes` may be sent; control never waits but is counted; events before bulk. */
  take(bytes: number, priority: Priority, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (priority === 'control') {
      this.#refill();
      this.#tokens -= bytes;
      this.#sent.control += bytes;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { bytes, priority, resolve, reject, signal };
      if (signal) {
        w.onAbort = () => {
          const q = this.#queues[priority];
          const i = q.indexOf(w);
          if (i >= 0) q.splice(i, 1);
          reject(signal.reason);
          this.#pump();
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.#queues[priority].push(w);
      this.#pump();
    });
  }

  /** Bulk sends nothing until resumeBulk(); events and control go on. */
  pauseBulk(reason: string): void {
    this.#pausedReason = reason;
  }

  resumeBulk(): void {
    this.#pausedReason = undefined;
    this.#pump();
  }

  /** Why bulk may not send now (paused, or outside every window); undefined when it may. */
  get bulkPaused(): string | undefined {
    if (this.#pausedReason !== undefined) return this.#pausedReason;
    if (this.#window() === null) return 'outside upload windows';
    return undefined;
  }

  setRate(bytesPerS: number): void {
    this.#refill();
    this.#rate = Math.max(0, bytesPerS);
    this.#tokens = Math.min(this.#tokens, this.#capacity(this.#effectiveRate()));
    this.#pump();
  }

  stats(): BudgetStats {
    return {
      bytes_per_s: this.#effectiveRate(),
      sent: { ...this.#sent },
      waiting: { control: 0, events: this.#queues.events.length, bulk: this.#queues.bulk.length },
      bulk_paused: this.bulkPaused,
    };
  }

  /** The window in force: undefined when no windows are configured, null outside every window. */
  #window(): { rate: number | undefined } | null | undefined {
    if (!this.#windows || this.#windows.length === 0) return undefined;
    const d = new Date(this.#wallNow());
    const minute = d.getHours() * 60 + d.getMinutes();
    for (const w of this.#windows) {
      const inside = w.start <= w.end ? minute >= w.start && minute < w.end : minute >= w.start || minute < w.end;
      if (inside) return w;
    }
    return null;
  }

  #effectiveRate(): number {
    return this.#window()?.rate ?? this.#rate;
  }

  #capacity(rate: number): number {
    return Math.max(MIN_BURST, rate / 10);
  }

  #refill(): void {
    const now = this.#now();
    const rate = this.#effectiveRate();
    const elapsed = Math.max(0, now - this.#last);
    this.#last = now;
    if (rate === 0) this.#tokens = Math.max(this.#tokens, 0);
    else this.#tokens = Math.min(this.#capacity(rate), this.#tokens + (elapsed * rate) / 1000);
  }

  /** Grants every waiter that may go now, in priority order, then sleeps until the next one may. */
  #pump(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#refill();
    for (;;) {
      const events = this.#queues.events[0];
      const bulkOpen = this.bulkPaused === undefined;
      const next = events ?? (bulkOpen ? this.#queues.bulk[0] : undefined);
      if (!next) break;
      const rate = this.#effectiveRate();
      const need = Math.min(next.bytes, this.#capacity(rate));
      if (rate !== 0 && this.#tokens < need) {
        this.#sleep(((need - this.#tokens) / rate) * 1000);
        return;
      }
      this.#queues[next.priority].shift();
      if (next.onAbort) next.signal!.removeEventListener('abort', next.onAbort);
      if (rate !== 0) this.#tokens -= next.bytes;
      this.#sent[next.priority] += next.bytes;
      next.resolve();
    }
    // Bulk waits for a window to open (or a resume, which pumps): look again now and then.
    if (this.#queues.bulk.length > 0 && this.#pausedReason === undefined) this.#sleep(WINDOW_RECHECK_MS);
  }

  #sleep(ms: number): void {
    this.#timer = setTimeout(() => this.#pump(), Math.max(1, Math.ceil(ms)));
  }
}

/** `HH:MM` to minutes after midnight. */
function parseClock(s: string): number {
  const m = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(s);
  if (!m) throw new Error(`upload window time ${JSON.stringify(s)} is not HH:MM (00:00 to 23:59)`);
  return Number(m[1]) * 60 + Number(m[2]);
}
