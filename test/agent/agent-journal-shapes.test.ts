import { fauxAssistantMessage, fauxToolCall, type Context } from '@mariozechner/pi-ai';
import { afterEach, describe, expect, it } from 'vitest';
import { runTimeline } from '../../daemon/agent/run-replay.ts';
import { RunStore } from '../../daemon/agent/run-store.ts';
import type { AgentEventRecord } from '../../daemon/contract/agent-event-record.ts';
import { agentEventsOf } from '../../daemon/contract/agent-events-of.ts';
import { newId } from '../../daemon/util/ids.ts';
import type { JournalRecord } from '../../daemon/contract/services.ts';
import { componentContext } from '../helpers/component-context.ts';
import { MemoryJournal } from '../helpers/memory-journal.ts';
import { fauxModel, forgetAgent, settled, startAgent, stopAgents } from './agent-harness.ts';

// A tool call of an agent run is one journal record: the tool.call, carrying the events written with it
// (`noted`). Journals written before (2026-11-26) hold one event a record. A run paused in either shape
// resumes the same: same events, same transcript given back to the model.

afterEach(stopAgents);

const nl = (text: string) => ({
  intent_id: newId(),
  type: 'natural_language',
  params: { text },
  policy_ctx: { actor: 't', source: 'internal' },
  targets: [],
});

const config = { agent: { skills: ['stop', 'publish'], require_approval: ['stop'] } };

/** The journal as the previous version wrote it: every event a record of its own, in the same order. */
function oneEventARecord(records: readonly JournalRecord[]): Omit<JournalRecord, 'seq'>[] {
  return records.flatMap(({ ts, kind, data }) =>
    kind === 'agent_event'
      ? agentEventsOf(data as AgentEventRecord).map((event) => ({ ts, kind, data: event }))
      : [{ ts, kind, data }],
  );
}

/** A run that published twice and paused for approval of its `stop`: its journal, and the run's id. */
async function pausedRun(): Promise<{ journal: MemoryJournal; runId: string }> {
  const journal = new MemoryJournal();
  const { faux, model } = fauxModel();
  const publish = { topic: '/cmd_vel', fields: { linear: { x: 0 } } };
  faux.setResponses([
    fauxAssistantMessage([fauxToolCall('publish', publish)], { stopReason: 'toolUse' }),
    fauxAssistantMessage([fauxToolCall('publish', publish)], { stopReason: 'toolUse' }),
    fauxAssistantMessage([fauxToolCall('stop', {})], { stopReason: 'toolUse' }), // waits for approval
  ]);
  const agent = await startAgent(componentContext(config, { journal }), { model });
  const { run_id } = await agent.submitIntent(nl('publish twice, then stop'), 'http');
  await settled(agent, run_id, ['awaiting_approval']);
  await agent.close();
  forgetAgent(agent);
  return { journal, runId: run_id };
}

/** Restarts on `journal`, approves the paused stop, and returns the run's end and what the model was given. */
async function resume(journal: MemoryJournal, runId: string) {
  const { faux, model } = fauxModel();
  const contexts: Context['messages'][] = [];
  faux.setResponses([
    (context) => {
      contexts.push(JSON.parse(JSON.stringify(context.messages)) as Context['messages']);
      return fauxAssistantMessage('Stopped.');
    },
  ]);
  const agent = await startAgent(componentContext(config, { journal }), { model });
  await agent.approve(runId, 'ada');
  const ended = await settled(agent, runId);
  return { ...ended, contexts };
}

describe('agent journals of either shape', () => {
  it('writes a tool call as one record carrying the result and message before it', async () => {
    const { journal, runId } = await pausedRun();
    const ofRun = journal.records.filter((r) => (r.data as { run_id?: string }).run_id === runId);
    const events = ofRun.filter((r) => r.kind === 'agent_event').map((r) => r.data as AgentEventRecord);
    expect(events.map((e) => [e.kind, e.noted?.map((n) => n.kind) ?? []])).toEqual([
      ['intent.accepted', []],
      ['tool.call', ['llm.message', 'llm.message']], // the user's text and the model's first message
      ['tool.call', ['tool.result', 'llm.message']],
      ['approval.requested', ['tool.result', 'llm.message']],
    ]);
  });

  it('resumes a run paused for approval from a journal of one event a record as from one of a record a call', async () => {
    const { journal, runId } = await pausedRun();
    const old = MemoryJournal.holding(oneEventARecord(journal.records));
    expect(old.records.length).toBeGreaterThan(journal.records.length);

    const fromNew = await resume(MemoryJournal.holding(journal.records), runId);
    const fromOld = await resume(old, runId);
    for (const resumed of [fromNew, fromOld]) {
      expect(resumed.run).toMatchObject({ status: 'succeeded', reason: 'Stopped.' });
      expect(resumed.events.filter((e) => e.kind === 'tool.call').map((e) => e.payload.tool)).toEqual([
        'publish',
        'publish',
        'stop',
      ]);
    }
    // The same events before the restart (ids and all), and the same transcript given back to the model.
    const paused = (events: { event_id: string; kind: string }[]) =>
      events.slice(
        0,
        events.findIndex((e) => e.kind === 'approval.granted'),
      );
    expect(paused(fromOld.events)).toEqual(paused(fromNew.events));
    expect(fromOld.contexts).toHaveLength(1);
    expect(fromOld.contexts[0]!.map((m) => m.role)).toEqual([
      'user',
      ...Array.from({ length: 3 }, () => ['assistant', 'toolResult']).flat(),
    ]);
    // The stop's result is made after the restart, at its own time: the rest is read back from the journal.
    const untimed = (messages: Context['messages']) => messages.map((m, i) => (i === 6 ? { ...m, timestamp: 0 } : m));
    expect(untimed(fromOld.contexts[0]!)).toEqual(untimed(fromNew.contexts[0]!));
  });

  it('replays and rebuilds both shapes alike, and a mix of them', async () => {
    const { journal, runId } = await pausedRun();
    const newShape = journal.records;
    const oldShape = MemoryJournal.holding(oneEventARecord(newShape)).records;
    const stores = [newShape, oldShape].map((records) => {
      const store = new RunStore(MemoryJournal.holding(records));
      store.rebuild();
      expect(store.warnings).toEqual([]);
      return store;
    });
    expect(stores[0]!.get(runId)!.events).toEqual(stores[1]!.get(runId)!.events);
    expect(stores[0]!.counters.toolCalls).toBe(2);
    expect(stores[1]!.counters.toolCalls).toBe(2);
    const timeline = (records: readonly JournalRecord[]) =>
      runTimeline(records, runId)!.entries.map((e) => [e.kind, e.text]);
    expect(timeline(newShape)).toEqual(timeline(oldShape));
  });
});
