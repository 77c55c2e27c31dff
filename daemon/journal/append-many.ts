import type { Journal, JournalEntry, JournalRecord } from '../contract/index.ts';

/**
 * An entry that can give its data's JSON text: exactly the text JSON.stringify(data) gives, or undefined
 * when it has none to give. A journal that writes JSON (DurableJournal) asks for it and writes it as is
 * instead of serializing the data; any other journal never asks. Made by whoever can build the text
 * cheaper than JSON.stringify does (see RunStore's events, whose envelope is known), never by hand for
 * arbitrary data.
 */
export interface SerializedEntry extends JournalEntry {
  readonly json: string | undefined;
}

/**
 * Appends entries in order, in one call where the journal can (one promise, one write); otherwise one
 * append each, in the same tick. Resolves once all are durable.
 */
export function appendMany(journal: Journal, entries: readonly JournalEntry[]): Promise<JournalRecord[]> {
  if (journal.appendMany) return journal.appendMany(entries);
  return Promise.all(entries.map((entry) => journal.append(entry.kind, entry.data)));
}
