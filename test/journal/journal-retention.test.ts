import { describe, expect, it } from 'vitest';
import { startDaemon } from '../helpers/daemon.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { waitFor } from '../helpers/wait.ts';

const stops = cleanupStack();

/** retain_days, in ms: a tenth of a second. */
const RETAIN_MS = 100;

/**
 * A daemon whose journal rolls segments at 1 MB and keeps records for about 0.1 s. Its lakehouse (when on)
 * never indexes events on its own during the test (events_flush_s), however slow the machine: that would
 * release the journal it holds.
 */
async function daemonWithJournal(lakehouse: boolean) {
  const started = await startDaemon(
    {
      api: { enabled: false },
      foxglove: { enabled: false },
      lakehouse: { enabled: lakehouse, events_flush_s: 86_400 },
      journal: { fsync: 'never', segment_mb: 1, retain_days: RETAIN_MS / 86_400_000 },
    },
    'journal-retention-',
  );
  stops.push(started.stop);
  const { journal } = started.daemon;
  const pad = 'x'.repeat(2000);
  while (journal.sizeBytes < 1.5 * 1024 * 1024) await journal.append('note', { pad });
  const written = Date.now();
  await waitFor(() => Date.now() > written + RETAIN_MS, 'every record to be older than retain_days');
  return started.daemon;
}

describe('journal retention in the daemon', () => {
  it('deletes old segments when no component holds them', async () => {
    const daemon = await daemonWithJournal(false);
    const before = daemon.journal.firstSeq;
    expect(daemon.pruneJournal()).toMatchObject({ segments: 1 });
    expect(daemon.journal.firstSeq).toBeGreaterThan(before);
  });

  it('keeps what the lakehouse has not indexed yet', async () => {
    const daemon = await daemonWithJournal(true);
    const before = daemon.journal.firstSeq;
    expect(daemon.pruneJournal()).toMatchObject({ segments: 0 });
    expect(daemon.journal.firstSeq).toBe(before);
  });
});
