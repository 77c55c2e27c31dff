import { existsSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DurableJournal } from '../../daemon/journal/durable-journal.ts';
import { tempDir } from '../helpers/cli.ts';
import { FakeAgent } from './fakes/fake-agent.ts';
import { startHarness, type Harness } from './harness.ts';
import { http } from './http.ts';

// A full disk under the journal: an intent that cannot be made durable is refused whole, and the client is
// told it is the disk (507), not a bug in the daemon (500).

let h: Harness | undefined;
const dirs: { cleanup(): void }[] = [];
afterEach(async () => {
  await h?.close();
  h = undefined;
  for (const d of dirs.splice(0)) d.cleanup();
});

/** A journal whose second segment is /dev/full: every write there fails with ENOSPC, as on a full disk. */
async function fullJournal(): Promise<DurableJournal> {
  const dir = tempDir('auraison-disk-full-');
  dirs.push(dir);
  const journal = new DurableJournal({ dir: dir.path, fsync: 'never', segmentBytes: 1 });
  await journal.append('note', { first: true }); // fills segment 1: the next append rotates
  symlinkSync('/dev/full', join(dir.path, `${String(2).padStart(20, '0')}.log`));
  return journal;
}

describe.runIf(existsSync('/dev/full'))('a full disk under the journal', () => {
  it('rejects the append with the errno, saying the disk is full', async () => {
    const journal = await fullJournal();
    const failure = await journal.append('note', { second: true }).then(
      () => undefined,
      (e: NodeJS.ErrnoException) => e,
    );
    expect(failure?.code).toBe('ENOSPC');
    expect(failure?.message).toMatch(/cannot append: the disk is full/);
    await journal.close().catch(() => undefined);
  });

  it('answers POST /intents with 507 naming the disk', async () => {
    const journal = await fullJournal();
    const agent = new FakeAgent({ journal });
    h = await startHarness({ journal, components: [agent] });
    const r = await http(h.url, '/intents', { body: { type: 'stop' } });
    expect(r.status).toBe(507);
    expect(r.json).toMatchObject({
      error: 'insufficient_storage',
      message: expect.stringMatching(/the disk is full.*free space on the data dir's disk/),
    });
    await journal.close().catch(() => undefined);
  });
});
