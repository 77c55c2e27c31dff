import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { JournalRecord } from '../daemon/contract/services.ts';
import { DurableJournal } from '../daemon/journal/durable-journal.ts';
import { tempDir } from '../test/helpers/paths.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { Outbox } from './outbox.ts';
import { CursorWriter } from './outbox-cursor.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const undo of cleanups.splice(0).reverse()) await undo();
});

/** An fdatasync the test completes by hand, one call at a time. */
function heldSync() {
  const calls: ((error: NodeJS.ErrnoException | null) => void)[] = [];
  return {
    fdatasync: (_fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => void calls.push(callback),
    get waiting() {
      return calls.length;
    },
    complete: (error: NodeJS.ErrnoException | null = null) => calls.shift()!(error),
  };
}

/**
 * An outbox over `journal` whose broker acknowledges every batch at once (or refuses each, with `refuse`);
 * `sent` holds what it published, `warnings` what it logged at warn.
 */
function outboxOver(journal: DurableJournal, dir: string, refuse?: string) {
  const sent: { first_seq: number; records: JournalRecord[] }[] = [];
  const warnings: string[] = [];
  const log = pino(
    { level: 'warn' },
    { write: (line: string) => void warnings.push((JSON.parse(line) as { msg: string }).msg) },
  );
  const outbox = new Outbox({
    journal,
    publish: async (payload) => {
      sent.push(JSON.parse(payload.toString('utf8')) as (typeof sent)[number]);
      if (refuse) throw new Error(refuse);
    },
    robot: 'r1',
    fleet: 'lab',
    cursor: { journal_id: 'j', acked_seq: 0 },
    writer: new CursorWriter(join(dir, 'cursor.json')),
    batchRecords: refuse ? 1 : 100,
    batchBytes: 1024 * 1024,
    maxInflight: 4,
    maxPacketBytes: () => undefined,
    log,
  });
  cleanups.push(() => outbox.close());
  return { outbox, sent, warnings, records: () => sent.flatMap((b) => b.records) };
}

describe('Outbox', () => {
  it('sends a record only once the journal made it durable: a failed fsync gives its seq to another record', async () => {
    const dir = tempDir('outbox-');
    cleanups.push(dir.cleanup);
    const sync = heldSync();
    const journal = new DurableJournal({ dir: join(dir.path, 'log'), fsync: 'always', fdatasync: sync.fdatasync });
    const { outbox, records } = outboxOver(journal, dir.path);
    outbox.start();
    outbox.online();
    const first = journal.append('agent_event', { n: 'first' });
    await waitFor(() => sync.waiting === 1, 'the first fsync');
    // Written while the first fsync runs: readable, not durable.
    const second = journal.append('agent_event', { n: 'second' }).catch((error: Error) => error);
    await new Promise((resolve) => setImmediate(resolve));
    sync.complete();
    await first;
    await waitFor(() => records().length > 0, 'the first record sent');
    await waitFor(() => sync.waiting === 1, 'the second fsync');
    sync.complete(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }));
    expect(await second).toBeInstanceOf(Error);
    // The second record never was: its seq goes to the next one.
    const third = journal.append('agent_event', { n: 'third' });
    await waitFor(() => sync.waiting === 1, 'the third fsync');
    sync.complete();
    expect((await third).seq).toBe(2);
    await waitFor(() => records().some((r) => r.seq === 2), 'seq 2 sent');
    expect(records().map((r) => r.data)).toEqual([{ n: 'first' }, { n: 'third' }]);
    await journal.close();
  });

  it("keeps the batches in flight under the broker's Receive Maximum, less what the link's other messages need", async () => {
    const dir = tempDir('outbox-');
    cleanups.push(dir.cleanup);
    const journal = new DurableJournal({ dir: join(dir.path, 'log'), fsync: 'never' });
    cleanups.push(() => journal.close());
    for (let i = 0; i < 100; i++) await journal.append('agent_event', { i });
    const peaks: Record<string, number> = {};
    for (const receiveMaximum of [undefined, 10, 3]) {
      const held: (() => void)[] = [];
      let peak = 0;
      const outbox = new Outbox({
        journal,
        // The broker acknowledges nothing until the test lets it: what is in flight stays there.
        publish: () => new Promise<void>((resolve) => (held.push(resolve), (peak = Math.max(peak, held.length)))),
        robot: 'r1',
        fleet: 'lab',
        cursor: { journal_id: 'j', acked_seq: 0 },
        writer: new CursorWriter(join(dir.path, `cursor-${receiveMaximum}.json`)),
        batchRecords: 1,
        batchBytes: 1024 * 1024,
        maxInflight: 16,
        maxPacketBytes: () => undefined,
        receiveMaximum: () => receiveMaximum,
        log: pino({ level: 'silent' }),
      });
      outbox.start();
      outbox.online();
      await new Promise((resolve) => setImmediate(resolve));
      // Acknowledged one at a time: each PUBACK lets one more batch go, never more than the window.
      while (outbox.ackedSeq < 100) {
        await waitFor(() => held.length > 0, 'a batch in flight');
        held.shift()!();
        await new Promise((resolve) => setImmediate(resolve));
      }
      peaks[String(receiveMaximum)] = peak;
      await outbox.close();
    }
    // None named: max_inflight. 10: 10 less 4 for the link's acks, status and offers. 3: one at a time.
    expect(peaks).toEqual({ undefined: 16, '10': 6, '3': 1 });
  });

  it('backs off from a broker that refuses every batch, one batch at a time, and says so once', async () => {
    const dir = tempDir('outbox-');
    cleanups.push(dir.cleanup);
    const journal = new DurableJournal({ dir: join(dir.path, 'log'), fsync: 'never' });
    cleanups.push(() => journal.close());
    for (let i = 0; i < 20; i++) await journal.append('agent_event', { i });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    cleanups.push(() => void vi.useRealTimers());
    // The events topic is not this robot's to publish to (an ACL): every batch comes back 0x87.
    const { outbox, sent, warnings } = outboxOver(journal, dir.path, 'Publish error: Not authorized');
    outbox.start();
    outbox.online();
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    // At 5 s a retry, max_inflight (4) batches each: over 400 batches in 10 minutes, and a line each time.
    expect(sent.length).toBeLessThan(20);
    expect(warnings.filter((w) => /did not take/.test(w))).toHaveLength(1);
    expect(outbox.lastError).toMatch(/Not authorized/);
  });
});
