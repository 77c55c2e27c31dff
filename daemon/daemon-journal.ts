import type { Logger } from 'pino';
import { join } from 'node:path';
import type { EdgeConfig } from './config/index.ts';
import { DurableJournal, type DurableJournalOptions } from './journal/index.ts';

/** Opens the daemon's journal in `<dataDir>/log` with the config's settings; what recovery repaired is warned. */
export function openDaemonJournal(options: {
  dataDir: string;
  settings: EdgeConfig['journal'];
  fdatasync: DurableJournalOptions['fdatasync'];
  log: Logger;
}): DurableJournal {
  const { dataDir, settings, fdatasync, log } = options;
  const { fsync, interval_ms, segment_mb } = settings;
  return new DurableJournal({
    dir: join(dataDir, 'log'),
    fsync,
    intervalMs: interval_ms,
    segmentBytes: segment_mb * 1024 * 1024,
    fdatasync,
    onRecovery: (message) =>
      log.warn({ message }, 'journal recovered at start (a torn tail or damaged records; the message says which)'),
  });
}
