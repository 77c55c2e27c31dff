// isolated: fakes the wall clock (vitest.config.ts)
import { afterEach, describe, expect, it, vi } from 'vitest';
import { tempDir } from '../../test/helpers/paths.ts';
import { waitFor } from '../../test/helpers/wait.ts';
import { nowNs } from '../util/time.ts';
import { silentLogger } from '../log.ts';
import type { Component, ComponentHealth } from '../lifecycle/component.ts';
import { DurableJournal } from './durable-journal.ts';
import { pruneJournal } from './journal-retention.ts';

let cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups) c();
  cleanups = [];
});

async function journalWith(records: number): Promise<DurableJournal> {
  const dir = tempDir('journal-retention-');
  cleanups.push(dir.cleanup);
  const journal = new DurableJournal({ dir: dir.path, segmentBytes: 1024, fsync: 'never' });
  for (let i = 0; i < records; i++) await journal.append('agent_event', { i, pad: 'x'.repeat(60) });
  return journal;
}

const holder = (name: string, hold: number | undefined): Component & { journalHold(): number | undefined } => ({
  name,
  start: async () => {},
  close: async () => {},
  health: () => ({ state: 'running' }),
  journalHold: () => hold,
});

const run = (
  journal: DurableJournal,
  components: Component[],
  options: { retainDays?: number; maxBytes?: number; health?: Record<string, ComponentHealth> } = {},
) =>
  pruneJournal({
    journal,
    retainDays: options.retainDays ?? 30,
    maxBytes: options.maxBytes ?? 1e9,
    components: new Map(components.map((c) => [c.name, c])),
    health: () => options.health ?? {},
    log: silentLogger(),
    // "Now" is far in the future, so every record is past retain_days.
    now: () => BigInt(Date.now() + 365 * 86_400_000) * 1_000_000n,
  });

const syncHolder = (name: string, hold: number | undefined): Component & { journalSyncHold(): number | undefined } => ({
  name,
  start: async () => {},
  close: async () => {},
  health: () => ({ state: 'running' }),
  journalSyncHold: () => hold,
});

describe('journal retention', () => {
  it('keeps what central has not got past retain_days, but not past max_mb', async () => {
    const journal = await journalWith(100);
    // Old by age, and central's outbox is at 30: nothing from 30 on goes.
    run(journal, [syncHolder('central', 30)]);
    expect(journal.firstSeq).toBeGreaterThan(1);
    expect(journal.firstSeq).toBeLessThanOrEqual(30);
    expect(journal.read(30, 1)[0]!.seq).toBe(30);
    // Past max_mb the disk comes first: records central has not got go too (the outbox reports them lost).
    run(journal, [syncHolder('central', 30)], { maxBytes: 2048 });
    expect(journal.firstSeq).toBeGreaterThan(30);
    await journal.close();
  });

  it('deletes old whole segments, but never a record a holder still needs, nor the open segment', async () => {
    const journal = await journalWith(100);
    const before = journal.firstSeq;
    const result = run(journal, [holder('lakehouse', 40), holder('agent', 60)]);
    expect(result).toMatchObject({ segments: expect.any(Number) });
    expect(journal.firstSeq).toBeGreaterThan(before);
    expect(journal.firstSeq).toBeLessThanOrEqual(40); // the lakehouse has indexed only up to 39
    expect(journal.read(40, 1)[0]!.seq).toBe(40);
    const all = run(journal, [holder('lakehouse', undefined)]);
    expect(all).toMatchObject({ segments: expect.any(Number) });
    expect(journal.read(100, 1)[0]!.seq).toBe(100); // the open segment stays
    await journal.close();
  });

  it('keeps recent segments under retain_days and max_mb, and deletes by size past max_mb', async () => {
    const journal = await journalWith(100);
    const first = journal.firstSeq;
    expect(
      pruneJournal({
        journal,
        retainDays: 30,
        maxBytes: 1e9,
        components: new Map(),
        health: () => ({}),
        log: silentLogger(),
      }),
    ).toMatchObject({ segments: 0 });
    expect(journal.firstSeq).toBe(first);
    const bySize = pruneJournal({
      journal,
      retainDays: 30,
      maxBytes: 3000,
      components: new Map(),
      health: () => ({}),
      log: silentLogger(),
    });
    expect(bySize).toMatchObject({ segments: expect.any(Number) });
    expect(journal.sizeBytes).toBeLessThanOrEqual(3000 + 1024);
    await journal.close();
  });

  it('does nothing while a configured component has failed: it might hold records it cannot report', async () => {
    const journal = await journalWith(50);
    const first = journal.firstSeq;
    expect(run(journal, [], { health: { lakehouse: { state: 'failed', reason: 'duckdb' } } })).toEqual({
      skipped: 'component(s) lakehouse failed; they may still need old records',
    });
    expect(journal.firstSeq).toBe(first);
    await journal.close();
  });

  it('goes on by size while the central link has failed: its hold only ever kept records past retain_days', async () => {
    const journal = await journalWith(100);
    const first = journal.firstSeq;
    const health = { central: { state: 'failed' as const, reason: 'central.ca_file: cannot read /etc/robot/ca.pem' } };
    // Nothing is known of what central got: nothing goes by age.
    expect(run(journal, [], { health })).toMatchObject({ segments: 0 });
    expect(journal.firstSeq).toBe(first);
    // The disk comes first: a central link that cannot start must not switch off journal.max_mb.
    expect(run(journal, [], { health, maxBytes: 3000 })).toMatchObject({ segments: expect.any(Number) });
    expect(journal.sizeBytes).toBeLessThanOrEqual(3000 + 1024);
    await journal.close();
  });

  it('never ages out records written before the clock was set (stamped 1970), nor anything while the clock is unset', async () => {
    const dir = tempDir('journal-retention-');
    cleanups.push(dir.cleanup);
    const realNow = Date.now.bind(Date);
    // A robot without an RTC boots in 1970: the journal stamps its records then.
    const boot = vi.spyOn(Date, 'now').mockImplementation(() => realNow() - 55 * 365 * 86_400_000);
    let journal: DurableJournal;
    try {
      await waitFor(
        () => nowNs() < 1_000_000_000_000_000_000n,
        'the ns clock to follow the wall clock (it re-syncs once a second)',
      );
      journal = new DurableJournal({ dir: dir.path, segmentBytes: 1024, fsync: 'never' });
      for (let i = 0; i < 50; i++) await journal.append('agent_event', { i, pad: 'x'.repeat(60) });
      const first = journal.firstSeq;
      // While the clock is still unset, nothing is old by age.
      expect(
        pruneJournal({
          journal,
          retainDays: 1,
          maxBytes: 1e9,
          components: new Map(),
          health: () => ({}),
          log: silentLogger(),
        }),
      ).toMatchObject({ segments: 0 });
      expect(journal.firstSeq).toBe(first);
    } finally {
      boot.mockRestore();
    }
    // NTP sets the clock: the 1970 records are not "55 years old" and stay; max_mb still bounds them.
    const first = journal.firstSeq;
    expect(
      pruneJournal({
        journal,
        retainDays: 1,
        maxBytes: 1e9,
        components: new Map(),
        health: () => ({}),
        log: silentLogger(),
      }),
    ).toMatchObject({ segments: 0 });
    expect(journal.firstSeq).toBe(first);
    expect(
      pruneJournal({
        journal,
        retainDays: 1,
        maxBytes: 3000,
        components: new Map(),
        health: () => ({}),
        log: silentLogger(),
      }),
    ).toMatchObject({ segments: expect.any(Number) });
    expect(journal.firstSeq).toBeGreaterThan(first);
    await journal.close();
  });
});
