import type { Journal, JournalRecord } from '../../../daemon/contract/services.ts';

/**
 * TEST ONLY. A journal whose records are made on demand from their seq (each with `payloadBytes` of
 * filler), so a test can push millions of bytes through the SSE path while the journal itself holds
 * nothing: any memory growth seen is the API's.
 */
export class SyntheticJournal implements Journal {
  #last = 0;
  #listeners = new Set<(record: JournalRecord) => void>();
  #filler: string;

  constructor(payloadBytes: number) {
    this.#filler = 'x'.repeat(payloadBytes);
  }

  get lastSeq(): number {
    return this.#last;
  }

  record(seq: number): JournalRecord {
    return {
      seq,
      ts: String(1_700_000_000_000_000_000n + BigInt(seq)),
      kind: 'agent_event',
      data: { n: seq, filler: this.#filler },
    };
  }

  async append(): Promise<JournalRecord> {
    const record = this.record(++this.#last);
    for (const l of this.#listeners) l(record);
    return record;
  }

  /** Appends `n` records at once (synchronously, as fast as possible). */
  burst(n: number): void {
    for (let i = 0; i < n; i++) {
      const record = this.record(++this.#last);
      for (const l of this.#listeners) l(record);
    }
  }

  read(fromSeq: number, limit: number): JournalRecord[] {
    const out: JournalRecord[] = [];
    for (let s = Math.max(1, fromSeq); s <= this.#last && out.length < limit; s++) out.push(this.record(s));
    return out;
  }

  subscribe(listener: (record: JournalRecord) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
