import { describe, expect, it } from 'vitest';
import { stopIntent } from '../../test/helpers/stop-intent.ts';
import type { JournalRecord } from '../contract/services.ts';
import { agentEventsOf } from '../contract/agent-events-of.ts';
import type { AgentEventRecord } from '../contract/agent-event-record.ts';
import { MemoryJournal } from '../../test/helpers/memory-journal.ts';
import { LiveRun } from './live-run.ts';
import { RunStore } from './run-store.ts';
import { errorText } from '../util/index.ts';

const intent = stopIntent;

/** A MemoryJournal that counts the ticks its appends arrive in, and can be told to fail. */
class TickJournal extends MemoryJournal {
  ticks: number[] = [];
  #tick = 0;
  #scheduled = false;
  fail: ((kind: string, data: unknown) => boolean) | undefined;
  override append(kind: string, data: unknown): Promise<JournalRecord> {
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => {
        this.#scheduled = false;
        this.#tick++;
      });
    }
    this.ticks.push(this.#tick);
    if (this.fail?.(kind, data)) return Promise.reject(new Error('disk full'));
    return super.append(kind, data);
  }
}

async function liveRun(journal: TickJournal): Promise<LiveRun> {
  const store = new RunStore(journal);
  const record = await store.create(intent(), 'skill:stop');
  return new LiveRun({
    record,
    store,
    quotas: { maxToolCalls: 10, maxTokens: 10, maxWallS: 10 },
    onWallExceeded: () => {},
  });
}

/** The kinds of the events in the journal, those a record carries (`noted`) before it. */
const eventKinds = (journal: MemoryJournal) =>
  journal.records
    .filter((r) => r.kind === 'agent_event')
    .flatMap((r) => agentEventsOf(r.data as AgentEventRecord).map((e) => e.kind));

describe('LiveRun', () => {
  it('appends noted events with the next event, in order and in one tick, and shows them once durable', async () => {
    const journal = new TickJournal();
    const live = await liveRun(journal);
    const before = journal.ticks.length;
    live.note('llm.message', { n: 1 });
    live.note('policy.decision', { n: 2 });
    expect(journal.records).toHaveLength(2); // intent.accepted and pending only: nothing written yet
    expect(live.record.events.map((e) => e.kind)).toEqual(['intent.accepted']);
    await live.event('tool.call', { n: 3 });
    expect(eventKinds(journal)).toEqual(['intent.accepted', 'llm.message', 'policy.decision', 'tool.call']);
    expect(journal.ticks.slice(before)).toHaveLength(1); // one record, carrying the noted events
    expect(live.record.events.map((e) => e.kind)).toEqual([
      'intent.accepted',
      'llm.message',
      'policy.decision',
      'tool.call',
    ]);
  });

  it('writes noted events at the end of the tick when nothing else writes', async () => {
    const journal = new TickJournal();
    const live = await liveRun(journal);
    live.note('tool.result', { ok: true });
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(eventKinds(journal)).toEqual(['intent.accepted', 'tool.result']);
    expect(live.record.events.map((e) => e.kind)).toEqual(['intent.accepted', 'tool.result']);
  });

  it('makes noted events durable before a state change or the end of the run', async () => {
    const journal = new TickJournal();
    const live = await liveRun(journal);
    live.note('llm.message', {});
    await live.status('running');
    live.note('tool.result', {});
    await live.finish('succeeded');
    expect(
      journal.records.map(
        (r) => (r.data as { kind?: string; status?: string }).kind ?? (r.data as { status: string }).status,
      ),
    ).toEqual(['intent.accepted', 'pending', 'llm.message', 'running', 'tool.result', 'succeeded']);
  });

  it('fails the next write when a noted event could not be written', async () => {
    const journal = new TickJournal();
    const live = await liveRun(journal);
    journal.fail = (kind, data) => (data as { kind?: string }).kind === 'tool.result';
    live.note('tool.result', {});
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    journal.fail = undefined;
    await expect(live.event('tool.call', {})).rejects.toThrow('disk full');
  });

  it('gives a tool call and the events noted before it to the journal as one record that carries them', async () => {
    const journal = new TickJournal();
    const batches: string[][] = [];
    Object.assign(journal, {
      appendMany(entries: { kind: string; data: unknown }[]) {
        batches.push(entries.map((e) => (e.data as { kind: string }).kind));
        return Promise.all(entries.map((e) => journal.append(e.kind, e.data)));
      },
    });
    const live = await liveRun(journal);
    live.note('tool.result', {});
    live.note('llm.message', {});
    await live.event('tool.call', {});
    expect(batches.at(-1)).toEqual(['tool.call']);
    const record = journal.records.at(-1)!.data as AgentEventRecord;
    expect(record.noted?.map((e) => e.kind)).toEqual(['tool.result', 'llm.message']);
    const events = live.record.events.slice(1);
    expect(events.map((e) => e.kind)).toEqual(['tool.result', 'llm.message', 'tool.call']);
    // What the run shows is what a reader of the journal gets back: the same events, ids and one ts.
    expect(agentEventsOf(record)).toEqual(events);
    expect(new Set(events.map((e) => e.ts)).size).toBe(1);
  });

  it('tells its end listeners when it ends, and aborts its signal only once someone has taken it', async () => {
    const journal = new TickJournal();
    const quiet = await liveRun(journal);
    const ended: string[] = [];
    quiet.onEnd(() => ended.push('first'));
    const off = quiet.onEnd(() => ended.push('removed'));
    off();
    await quiet.finish('succeeded');
    expect(ended).toEqual(['first']);
    await quiet.finish('failed');
    expect(ended).toEqual(['first']); // once
    expect(quiet.signal.aborted).toBe(true); // taken after the end: aborted already
    expect(errorText(quiet.signal.reason)).toBe('succeeded');

    const held = await liveRun(journal);
    const signal = held.signal;
    expect(signal.aborted).toBe(false);
    await held.finish('cancelled', 'cancelled by t');
    expect(signal.aborted).toBe(true);
    expect(errorText(signal.reason)).toBe('cancelled by t');
    expect(held.signal).toBe(signal);
  });

  it('aborts a taken signal when the daemon lets go of the run', async () => {
    const live = await liveRun(new TickJournal());
    let ended = 0;
    live.onEnd(() => ended++);
    const signal = live.signal;
    live.detach();
    expect(ended).toBe(1);
    expect(signal.aborted).toBe(true);
  });
});
