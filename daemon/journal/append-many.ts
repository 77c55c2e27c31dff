import type { Journal, JournalRecord } from '../contract/services.ts';

/** One record to append. */
export interface JournalEntry {
  kind: string;
  data: unknown;
}

/** A journal that appends several records in one call (DurableJournal does). */
export interface BatchJournal extends Journal {
  appendMany(entries: readonly JournalEntry[]): Promise<JournalRecord[]>;
}

function canAppendMany(journal: Journal): journal is BatchJournal {
  return typeof (journal as Partial<BatchJournal>).appendMany === 'function';
}

/**
 * Appends entries in order, in one call where the journal can (one promise, one write); otherwise one
 * append each, in the same tick. Resolves once all are durable.
 */
export function appendMany(journal: Journal, entries: readonly JournalEntry[]): Promise<JournalRecord[]> {
  if (canAppendMany(journal)) return journal.appendMany(entries);
  return Promise.all(entries.map((entry) => journal.append(entry.kind, entry.data)));
}
