export { appendMany } from './append-many.ts';
export { DurableJournal, type DurableJournalOptions, type FsyncPolicy } from './durable-journal.ts';
export { readJournalDir, recordsJournal } from './read-only.ts';
