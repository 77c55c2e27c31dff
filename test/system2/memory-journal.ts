import type { Journal, JournalRecord } from '../../daemon/contract/services.ts';
import { nowNs } from '../../daemon/contract/time.ts';

/**
 * An in-memory Journal for unit tests of the agent: the same contract as the durable one (records
 * round-trip through JSON, so what a reader sees is what a restart would read), without the disk.
 */
export class MemoryJournal implements Journal {
  readonly records: JournalRecord[] = [];
  #listeners = new Set<(record: JournalRecord) => void>();

  get lastSeq(): number {
    return this.records.length;
  }

  async append(kind: string, data: unknown): Promise<JournalRecord> {
    const record: JournalRecord = JSON.parse(JSON.stringify({ seq: this.records.length + 1, ts: nowNs().toString(), kind, data })) as JournalRecord;
    this.records.push(record);
    for (const listener of this.#listeners) listener(record);
    return record;
  }

  read(fromSeq: number, limit: number): JournalRecord[] {
    return this.records.slice(Math.max(0, fromSeq - 1), Math.max(0, fromSeq - 1) + limit);
  }

  subscribe(listener: (record: JournalRecord) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
