export type Priority = 'control' | 'events' | 'bulk';

export interface BudgetWindow {
  start: string;
  end: string;
  bytes_per_s?: number;
}

/** One bandwidth budget for the whole link. */
export class Budget {
  constructor(o: { bytesPerS: number; windows?: BudgetWindow[]; now?: () => number }) {
    void o;
  }

  /** Resolves when `bytes` may be sent; control never waits but is counted; events before bulk. */
  take(bytes: number, priority: Priority, signal?: AbortSignal): Promise<void> {
    void bytes;
    void priority;
    void signal;
    throw new Error('not built yet');
  }

  pauseBulk(reason: string): void {
    void reason;
  }

  resumeBulk(): void {}

  get bulkPaused(): string | undefined {
    return undefined;
  }

  setRate(bytesPerS: number): void {
    void bytesPerS;
  }

  stats(): { bytes_per_s: number; sent: Record<Priority, number>; waiting: Record<Priority, number> } {
    throw new Error('not built yet');
  }
}
