import type { Journal, JournalRecord } from '../../../daemon/contract/services.ts';
import { nowNs } from '../../../daemon/contract/time.ts';

/**
 * TEST ONLY. An in-memory Journal with the durable journal's observable behaviour: dense seqs from 1,
 * listeners told after append resolves, reads from any seq. `forget(upTo)` drops old records, as retention
 * does, so readers can be shown a gap.
 */
export class MemoryJournal implements Journal {
  #records: JournalRecord[] = [];
  #first = 1;
  #listeners = new Set<(record: JournalRecord) => void>();

  get lastSeq(): number {
    return this.#first + this.#records.length - 1;
  }

  async append(kind: string, data: unknown): Promise<JournalRecord> {
    const record: JournalRecord = { seq: this.lastSeq + 1, ts: nowNs().toString(), kind, data: structuredClone(data) };
    this.#records.push(record);
    await Promise.resolve();
    for (const l of this.#listeners) l(record);
    return record;
  }

  read(fromSeq: number, limit: number): JournalRecord[] {
    const start = Math.max(fromSeq, this.#first) - this.#first;
    return this.#records.slice(start, start + limit);
  }

  subscribe(listener: (record: JournalRecord) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  forget(upTo: number): void {
    const n = Math.max(0, upTo - this.#first + 1);
    this.#records.splice(0, n);
    this.#first += n;
  }
}

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
    return { seq, ts: String(1_700_000_000_000_000_000n + BigInt(seq)), kind: 'agent_event', data: { n: seq, filler: this.#filler } };
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
