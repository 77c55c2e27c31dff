import { describe, expect, it } from 'vitest';
import { startDaemon } from '../helpers/daemon.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

const stops = cleanupStack();

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
      journal: { fsync: 'never', segment_mb: 1, retain_days: 0.000001 },
    },
    'journal-retention-',
  );
  stops.push(started.stop);
  const { journal } = started.daemon;
  const pad = 'x'.repeat(2000);
  while (journal.sizeBytes < 1.5 * 1024 * 1024) await journal.append('note', { pad });
  await new Promise((r) => setTimeout(r, 200)); // older than retain_days now
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
