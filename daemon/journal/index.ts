export { DurableJournal, type DurableJournalOptions, type FsyncPolicy } from './durable-journal.ts';
