import type { Journal, JournalRecord } from '../../daemon/contract/services.ts';
import { nowNs } from '../../daemon/util/time.ts';

/**
 * An in-memory Journal with the durable journal's observable behaviour, without the disk: dense seqs from 1,
 * data that has a JSON form only (each record round-trips through JSON, so what a reader sees is what a
 * restart would read), listeners told before `append` resolves, reads from any seq. `forget(upTo)` drops
 * old records, as retention does, so readers can be shown a gap.
 */
export class MemoryJournal implements Journal {
  #records: JournalRecord[] = [];
  #first = 1;
  #listeners = new Set<(record: JournalRecord) => void>();

  /** A journal holding `records` as given (their ts too), with seqs from 1: one read back after a restart. */
  static holding(records: readonly Omit<JournalRecord, 'seq'>[]): MemoryJournal {
    const journal = new MemoryJournal();
    journal.#records = records.map((record, i) => ({ ...record, seq: i + 1 }));
    return journal;
  }

  /** The records held, oldest first. A test may seed it with another journal's, as a restart reads them. */
  get records(): JournalRecord[] {
    return this.#records;
  }

  get lastSeq(): number {
    return this.#first + this.#records.length - 1;
  }

  async append(kind: string, data: unknown): Promise<JournalRecord> {
    const record = JSON.parse(
      JSON.stringify({ seq: this.lastSeq + 1, ts: nowNs().toString(), kind, data }),
    ) as JournalRecord;
    this.#records.push(record);
    await Promise.resolve(); // as the durable journal's write: listeners hear of a record after append returns
    for (const listener of this.#listeners) listener(record);
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

  /** Drops the records up to seq `upTo`, as journal retention deletes old segments. */
  forget(upTo: number): void {
    const n = Math.max(0, upTo - this.#first + 1);
    this.#records.splice(0, n);
    this.#first += n;
  }
}
