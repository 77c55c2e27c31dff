export { appendMany, type SerializedEntry } from './append-many.ts';
export { DurableJournal, type DurableJournalOptions, type FsyncPolicy } from './durable-journal.ts';
export { readJournalDir, recordsJournal } from './read-only.ts';
export { pruneJournal } from './journal-retention.ts';
