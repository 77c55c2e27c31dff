import { describe, expect, it } from 'vitest';
import { newId } from '../contract/ids.ts';
import type { Intent } from '../contract/schemas.ts';
import { MemoryJournal } from '../../test/system2/memory-journal.ts';
import { RunStore } from './run-store.ts';

const intent = (): Intent => ({ intent_id: newId(), type: 'stop', params: {}, policy_ctx: { actor: 't', source: 'internal' }, targets: [] });

/** A run that called a tool, had a policy rule fire and succeeded. */
async function finishedRun(store: RunStore, status: 'succeeded' | 'failed' = 'succeeded'): Promise<{ runId: string; intentId: string }> {
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
    const firstOfLive = journal.read(1, 1000).find((r) => (r.data as { run_id?: string }).run_id === live.run.run_id)!.seq;
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
    expect(store.get(runs[4]!.runId)!.events.map((e) => e.kind)).toEqual(['intent.accepted', 'tool.call', 'policy.decision']);
    expect(Object.fromEntries(store.counters.byStatus)).toEqual({ pending: 0, running: 0, succeeded: 5, awaiting_approval: 1 });
    expect(store.counters.toolCalls).toBe(5);
  });

  it('shows a state it could not journal, without writing it', async () => {
    const journal = new MemoryJournal();
    const store = new RunStore(journal);
    const { run } = await store.create(intent(), 'skill:stop');
    const records = journal.records.length;
    expect(store.setUndurable(run.run_id, 'failed', 'disk gone')).toMatchObject({ status: 'failed', reason: 'disk gone' });
    expect(store.get(run.run_id)!.run.status).toBe('failed');
    expect(journal.records).toHaveLength(records);
  });

  it('refuses a bound that would drop a run the moment it finishes', () => {
    expect(() => new RunStore(new MemoryJournal(), { keepFinished: 0 })).toThrow(/keepFinished must be at least 1/);
  });
});
