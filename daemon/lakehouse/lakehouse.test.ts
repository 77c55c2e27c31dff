import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Value } from 'typebox/value';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Bus } from '../bus/bus.ts';
import { MessageCodec } from '../bus/codec.ts';
import { DefinitionsRegistry } from '../bus/definitions.ts';
import { LakehouseConfig, RecorderConfig, RetentionConfig } from '../config/sections/bags.ts';
import type { Journal, JournalRecord } from '../contract/services.ts';
import { Recorder, type RecorderSettings } from '../recorder/recorder.ts';
import { lakehousePaths, withCatalog } from './catalog.ts';
import { Lakehouse, type LakehouseOptions } from './lakehouse.ts';
import { MemoryJournal } from '../../test/helpers/memory-journal.ts';
import { waitFor } from '../../test/helpers/wait.ts';

const registry = new DefinitionsRegistry();
const log = pino({ level: 'silent' });
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function lakehouse(dataDir: string, journal: Journal | undefined) {
  return new Lakehouse({
    dataDir,
    robot: 'r1',
    definitions: registry,
    log,
    journal,
    settings: Value.Default(LakehouseConfig, {}) as LakehouseOptions['settings'],
    retention: { ...(Value.Default(RetentionConfig, {}) as LakehouseOptions['retention']), enabled: false },
    syncRequired: false,
  });
}

// Queries run in the query process at nice 19: under test:stress's CPU hogs, one may take most of a minute.
describe('Lakehouse component', { timeout: 240_000 }, () => {
  it('indexes agent events from the journal into the events table, each once', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lh-events-'));
    dirs.push(dataDir);
    const event = (i: number) => ({
      ts: '1700000000000000000',
      kind: 'agent_event',
      data: {
        event_id: `e${i}`,
        run_id: 'run-1',
        kind: 'tool.called',
        payload: { i },
        ts: `${1700000000000000000n + BigInt(i)}`,
      },
    });
    const journal = MemoryJournal.holding([
      event(1),
      { ts: '1700000000000000000', kind: 'run_state', data: {} },
      event(2),
      event(3),
      // A tool call's record carries the events written with it: a row each, with the record's seq and ts.
      {
        ...event(4),
        data: {
          ...event(4).data,
          noted: [5, 6].map((i) => ({ event_id: `e${i}`, kind: 'tool.result', payload: { i } })),
        },
      },
    ]);
    const lh = lakehouse(dataDir, journal);
    expect(lh.journalHold()).toBe(1); // before its first pass it holds the whole journal
    await lh.start();
    await lh.close();
    expect(lh.journalHold()).toBe(6); // indexed through seq 5: journal retention may drop 1..5
    const again = lakehouse(dataDir, journal);
    await again.start();
    await again.close(); // a restart indexes nothing twice
    // Read through a lakehouse that runs: a closed one's queries are stopped as the daemon stops.
    const reader = lakehouse(dataDir, journal);
    await reader.start();
    const r = await reader
      .query(
        "SELECT seq::INTEGER, event_id, kind, json_extract(payload, '$.i')::INTEGER, date, run_id, ts::VARCHAR FROM events ORDER BY seq, event_id",
      )
      .finally(() => reader.close());
    expect(r.rows.map((row) => row.slice(0, 4))).toEqual([
      [1, 'e1', 'tool.called', 1],
      [3, 'e2', 'tool.called', 2],
      [4, 'e3', 'tool.called', 3],
      [5, 'e4', 'tool.called', 4],
      [5, 'e5', 'tool.result', 5],
      [5, 'e6', 'tool.result', 6],
    ]);
    expect(r.rows.slice(3).map((row) => row.slice(5))).toEqual(
      Array.from({ length: 3 }, () => ['run-1', '1700000000000000004']),
    );
    expect(String(r.rows[0]![4])).toBe('2023-11-14');
  });

  it('keeps one marker row, not one per pass, while the journal holds no agent events', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lh-marker-'));
    dirs.push(dataDir);
    const records: Omit<JournalRecord, 'seq'>[] = [];
    for (let pass = 0; pass < 3; pass++) {
      records.push({ ts: '1700000000000000000', kind: 'run_state', data: {} });
      const lh = lakehouse(dataDir, MemoryJournal.holding(records));
      await lh.start();
      await lh.close();
      expect(lh.journalHold()).toBe(records.length + 1);
    }
    const rows = await withCatalog(lakehousePaths(dataDir).catalog, async (conn) =>
      (await conn.runAndReadAll('SELECT count(*)::INTEGER, max(last_seq)::INTEGER FROM event_files')).getRows(),
    );
    expect(rows[0]).toEqual([1, 3]);
  });

  it('indexes each recorded split as it closes, queryable by topic name', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lh-rec-'));
    dirs.push(dataDir);
    const lh = lakehouse(dataDir, undefined);
    await lh.start();
    const bus = new Bus();
    const settings = {
      ...(Value.Default(RecorderConfig, {}) as RecorderSettings),
      enabled: true,
      split_max_bytes: 4000,
      chunk_size_bytes: 1024,
      min_free_bytes: 0,
    };
    const recorder = new Recorder({
      bus,
      definitions: registry,
      log,
      bagsDir: join(dataDir, 'bags'),
      settings,
      onSplitClosed: (f, d) => lh.indexRecordedSplit(f, d),
    });
    const codec = new MessageCodec(registry);
    const pub = bus.advertise('/cmd_vel', 'geometry_msgs/msg/Twist', { source: 'test' });
    await recorder.start();
    for (let i = 0; i < 100; i++)
      pub.publish(
        codec.encode('geometry_msgs/msg/Twist', {
          linear: { x: i / 100, y: 0, z: 0 },
          angular: { x: 0, y: 0, z: 0.5 },
        }),
      );
    await new Promise((r) => setImmediate(r));
    await recorder.close();
    bus.close();
    await lh.idle();
    const r = await lh.query(
      'SELECT count(*)::INTEGER, round(avg("linear.x"), 3), count(DISTINCT segment_id)::INTEGER FROM "/cmd_vel"',
    );
    expect(r.rows[0]![0]).toBe(100);
    expect(r.rows[0]![1]).toBe(0.495);
    expect(r.rows[0]![2]).toBeGreaterThan(1);
    const bags = await lh.query(
      "SELECT count(*)::INTEGER FROM bags WHERE source = 'recorder' AND sync_state = 'pending'",
    );
    expect(bags.rows[0]![0]).toBe(r.rows[0]![2]);
    expect(lh.health().state).toBe('running');
    await lh.close();
  });

  it('skips a periodic job while one of its kind still waits, so the queue stays bounded when jobs are slow', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lh-queue-'));
    dirs.push(dataDir);
    let runs = 0; // each events job reads journal.lastSeq once
    const counted = new (class extends MemoryJournal {
      override get lastSeq(): number {
        runs++;
        return super.lastSeq;
      }
    })();
    const lh = new Lakehouse({
      dataDir,
      robot: 'r1',
      definitions: registry,
      log,
      journal: counted,
      settings: { ...(Value.Default(LakehouseConfig, {}) as LakehouseOptions['settings']), events_flush_s: 0.1 },
      retention: { ...(Value.Default(RetentionConfig, {}) as LakehouseOptions['retention']), check_interval_s: 0.1 },
      syncRequired: false,
    });
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      await lh.start(); // queues the start's catalog work (running by now), a retention pass and a compaction run
      // 50 ticks of each timer fire while no job can run (jobs start on the microtask queue): one waits per
      // kind (retention, compact, events).
      vi.advanceTimersByTime(5000);
      expect(lh.health().details).toMatchObject({ jobs_queued: 3 });
      await lh.idle();
      expect(runs).toBe(1);
      await lh.close(); // a last events job, always queued
      expect(runs).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('a query asked as the lakehouse starts', () => {
  it('waits for the catalog the start is making instead of failing on its missing tables', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lh-query-start-'));
    dirs.push(dataDir);
    const lh = lakehouse(dataDir, undefined);
    await lh.start();
    try {
      // Asked before the start's catalog work has run (it is queued): DuckDB said "Table with name projections
      // does not exist" here.
      const result = await lh.query('SELECT count(*) AS n FROM bags');
      expect(result.rows).toEqual([['0']]);
    } finally {
      await lh.close();
    }
  });

  it('says the lakehouse is starting when the catalog is not ready within the query timeout', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lh-query-held-'));
    dirs.push(dataDir);
    // Another process's DuckDB holding the catalog, as a shell left open on it would.
    let holding = false;
    let release = () => {};
    const held = withCatalog(lakehousePaths(dataDir).catalog, () => {
      holding = true;
      return new Promise<void>((resolve) => (release = resolve));
    });
    await waitFor(() => holding, 'the catalog held');
    const lh = new Lakehouse({
      dataDir,
      robot: 'r1',
      definitions: registry,
      log,
      journal: undefined,
      settings: Value.Default(LakehouseConfig, {}) as LakehouseOptions['settings'],
      retention: { ...(Value.Default(RetentionConfig, {}) as LakehouseOptions['retention']), enabled: false },
      syncRequired: false,
      catalogWaitMs: 100,
    });
    await lh.start();
    try {
      await expect(lh.query('SELECT 1', { timeoutMs: 300 })).rejects.toThrow(
        /^the lakehouse is starting: its catalog is not ready yet \(.*\); ask again in a moment$/,
      );
    } finally {
      release();
      await lh.close();
      await held;
    }
  });
});
