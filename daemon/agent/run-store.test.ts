import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stopIntent } from '../../test/helpers/stop-intent.ts';
import { DurableJournal } from '../journal/durable-journal.ts';
import { decodeFrame } from '../journal/frame.ts';
import { tempDir } from '../../test/helpers/paths.ts';
import { MemoryJournal } from '../../test/helpers/memory-journal.ts';
import { RunStore } from './run-store.ts';

const intent = stopIntent;

/** A run that called a tool, had a policy rule fire and succeeded. */
async function finishedRun(
  store: RunStore,
  status: 'succeeded' | 'failed' = 'succeeded',
): Promise<{ runId: string; intentId: string }> {
  const i = intent();
  const { run } = await store.create(i, 'skill:stop');
  await store.transition(run.run_id, 'running');
  await store.event(run.run_id, 'tool.call', { call_id: 'skill-1', tool: 'stop', input: {} });
  await store.event(run.run_id, 'policy.decision', { hook: 'velocity', rule: 'velocity.limit', action: 'rewrite' });
  await store.transition(run.run_id, status);
  return { runId: run.run_id, intentId: i.intent_id };
}

describe('RunStore', () => {
  it('tells journal retention the first seq of the oldest live run, also after a rebuild', async () => {
    const journal = new MemoryJournal();
    const store = new RunStore(journal);
    expect(store.oldestLiveSeq()).toBeUndefined();
    await finishedRun(store);
    const live = await store.create(intent(), 'skill:stop');
    const firstOfLive = journal
      .read(1, 1000)
      .find((r) => (r.data as { run_id?: string }).run_id === live.run.run_id)!.seq;
    await finishedRun(store);
    expect(store.oldestLiveSeq()).toBe(firstOfLive);
    const rebuilt = new RunStore(journal);
    rebuilt.rebuild();
    expect(rebuilt.oldestLiveSeq()).toBe(firstOfLive);
    await store.transition(live.run.run_id, 'succeeded');
    expect(store.oldestLiveSeq()).toBeUndefined();
  });

  it('keeps live runs and only the most recently finished ones in memory', async () => {
    const store = new RunStore(new MemoryJournal(), { keepFinished: 2 });
    const live = (await store.create(intent(), 'skill:stop')).run.run_id;
    const runs = [];
    for (let i = 0; i < 4; i++) runs.push(await finishedRun(store));
    expect(runs.map((r) => store.get(r.runId) !== undefined)).toEqual([false, false, true, true]);
    expect(store.byIntent(runs[0]!.intentId)).toBeUndefined();
    expect(store.get(live)?.run.status).toBe('pending');
    expect(store.list().map((r) => r.run_id)).toEqual([runs[3]!.runId, runs[2]!.runId, live]);
    // The run that was live longest is still kept once it ends; the oldest finished one goes.
    await store.transition(live, 'cancelled');
    expect([...store.all()].map((r) => r.run.run_id)).toEqual([live, runs[3]!.runId]);
  });

  it('counts every run and event of the journal as they come, also those no longer in memory', async () => {
    const store = new RunStore(new MemoryJournal(), { keepFinished: 1 });
    await finishedRun(store);
    await finishedRun(store, 'failed');
    await finishedRun(store);
    await store.create(intent(), 'skill:stop');
    const { byStatus, toolCalls, decisions } = store.counters;
    expect(Object.fromEntries(byStatus)).toEqual({ pending: 1, running: 0, succeeded: 2, failed: 1 });
    expect(toolCalls).toBe(3);
    expect(Object.fromEntries(decisions)).toEqual({ 'velocity.limit': 3 });
  });

  it('rebuilds from the journal within the same bound, with the same counters', async () => {
    const journal = new MemoryJournal();
    const writer = new RunStore(journal);
    const runs = [];
    for (let i = 0; i < 5; i++) runs.push(await finishedRun(writer));
    const waiting = (await writer.create(intent(), 'llm:edge-agent')).run.run_id;
    await writer.transition(waiting, 'awaiting_approval');

    const store = new RunStore(journal, { keepFinished: 2 });
    store.rebuild(3);
    expect([...store.all()].map((r) => r.run.run_id)).toEqual([runs[3]!.runId, runs[4]!.runId, waiting]);
    expect(store.get(runs[4]!.runId)!.events.map((e) => e.kind)).toEqual([
      'intent.accepted',
      'tool.call',
      'policy.decision',
    ]);
    expect(Object.fromEntries(store.counters.byStatus)).toEqual({
      pending: 0,
      running: 0,
      succeeded: 5,
      awaiting_approval: 1,
    });
    expect(store.counters.toolCalls).toBe(5);
  });

  it('shows a state it could not journal, without writing it', async () => {
    const journal = new MemoryJournal();
    const store = new RunStore(journal);
    const { run } = await store.create(intent(), 'skill:stop');
    const records = journal.records.length;
    expect(store.setUndurable(run.run_id, 'failed', 'disk gone')).toMatchObject({
      status: 'failed',
      reason: 'disk gone',
    });
    expect(store.get(run.run_id)!.run.status).toBe('failed');
    expect(journal.records).toHaveLength(records);
  });

  it('refuses a bound that would drop a run the moment it finishes', () => {
    expect(() => new RunStore(new MemoryJournal(), { keepFinished: 0 })).toThrow(/keepFinished must be at least 1/);
  });

  it('writes each event to the durable journal as JSON.stringify gives it, and reads the same events back', async () => {
    const dir = tempDir();
    try {
      const journal = new DurableJournal({ dir: dir.path, fsync: 'never' });
      const store = new RunStore(journal);
      const { run } = await store.create(intent(), 'skill:stop');
      const payloads: Record<string, unknown>[] = [
        {
          text: 'quotes " and \\ and \n, é, 日本, 🤖, \u2028 and a lone \ud800',
          n: 2.539064999999937,
          neg: -0,
          nan: NaN,
          big: 1e21,
          gone: undefined,
          list: [undefined, () => 1, null],
        },
        {
          message: {
            role: 'assistant',
            content: [{ type: 'toolCall', id: 'tool:1', name: 'stop', arguments: {} }],
            at: new Date(0),
          },
        },
        { toJSON: (key: string) => ({ key }) },
        {},
      ];
      const events = await store.events(
        run.run_id,
        payloads.map((payload, i) => ({ kind: i % 2 ? 'tool.result' : 'policy.decision', payload })),
      );
      await expect(store.event(run.run_id, 'tool.call', { n: 1n })).rejects.toThrow(
        /agent_event record: its data is not JSON/,
      );
      await journal.close();
      // The bytes of each record are the text JSON.stringify makes of it, envelope and payload alike.
      const segment = readFileSync(
        join(
          dir.path,
          readdirSync(dir.path).find((f) => f.endsWith('.log'))!,
        ),
      );
      const texts: string[] = [];
      for (let at = 0; at < segment.length;) {
        const frame = decodeFrame(segment, at);
        if (!frame.ok) throw new Error(`frame at ${at}: ${frame.reason}`);
        texts.push(frame.payload.toString('utf8'));
        at = frame.next;
      }
      const written = texts.slice(2).map((t) => JSON.parse(t) as { seq: number; ts: string; kind: string });
      expect(texts.slice(2)).toEqual(
        events.map((event, i) =>
          JSON.stringify({ seq: written[i]!.seq, ts: written[i]!.ts, kind: written[i]!.kind, data: event }),
        ),
      );
      const rebuilt = new RunStore(new DurableJournal({ dir: dir.path, fsync: 'never' }));
      rebuilt.rebuild();
      expect(rebuilt.get(run.run_id)!.events.slice(1)).toEqual(
        events.map((event) => JSON.parse(JSON.stringify(event))),
      );
    } finally {
      dir.cleanup();
    }
  });
});
