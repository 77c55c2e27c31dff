import type { Journal, JournalEntry, JournalRecord } from '../contract/services.ts';

/**
 * Appends entries in order, in one call where the journal can (one promise, one write); otherwise one
 * append each, in the same tick. Resolves once all are durable.
 */
export function appendMany(journal: Journal, entries: readonly JournalEntry[]): Promise<JournalRecord[]> {
  if (journal.appendMany) return journal.appendMany(entries);
  return Promise.all(entries.map((entry) => journal.append(entry.kind, entry.data)));
}
