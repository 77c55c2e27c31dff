import type { RunStore } from '../daemon/agent/index.ts';
import { newId } from '../daemon/util/index.ts';
import type { AgentEvent, AgentEventRecord, Intent, Journal } from '../daemon/contract/index.ts';

// The agent bench's journal figures, measured beside its loops in the same rounds: the one durable append the
// goal allows a tool call, and what one of ours' tool calls really writes (bench/agent.bench.ts).

/**
 * One durable append per call, as the goal allows: a tool.call record (the shape ours writes) appended to a
 * DurableJournal with fsync never and awaited, `calls` times; ms per append.
 */
export async function appendRun(journal: Journal, calls: number): Promise<number> {
  const runId = newId();
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) {
    await journal.append('agent_event', {
      event_id: newId(),
      run_id: runId,
      kind: 'tool.call',
      payload: { call_id: `call_${i}`, tool: 'stop', input: {} },
      ts: process.hrtime.bigint().toString(),
    });
  }
  return Number(process.hrtime.bigint() - start) / 1e6 / calls;
}

/**
 * The events one of ours' tool calls journals, in the one write it waits for: the previous call's
 * tool.result, the model's message (llm.message) and the tool.call, taken from a finished run of ours,
 * written through a RunStore `calls` times as ours writes them (`oneRecord`: one record, the tool.call
 * carrying the other two) or as the previous version did (one record each, in one batch); ms per write.
 * Beside appendRun's single tool.call record it shows what the journal path costs for what a call writes.
 */
export async function callRecordsRun(
  store: RunStore,
  events: readonly AgentEvent[],
  oneRecord: boolean,
  calls: number,
): Promise<number> {
  const { run } = await store.create(benchIntent(), 'llm:bench');
  const items = events.map((e) => ({ kind: e.kind, payload: e.payload }));
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) await store.events(run.run_id, items, oneRecord);
  const ms = Number(process.hrtime.bigint() - start) / 1e6 / calls;
  await store.transition(run.run_id, 'succeeded'); // a finished run leaves the store's memory
  return ms;
}

const benchIntent = (): Intent => ({
  intent_id: newId(),
  type: 'natural_language',
  params: { text: 'stop the robot, repeatedly' },
  policy_ctx: { actor: 'bench', source: 'internal' },
  targets: [],
});

/** The JSON size of the record ours' last tool call was journaled in, and of the events it carries. */
export function heldRecordBytes(journal: Journal): string {
  const record = journal
    .read(Math.max(1, journal.lastSeq - 16), 20)
    .findLast(
      (r) =>
        r.kind === 'agent_event' &&
        (r.data as AgentEventRecord).kind === 'tool.call' &&
        (r.data as AgentEventRecord).noted !== undefined,
    );
  if (!record) throw new Error('ours journaled no tool call carrying the events before it');
  const data = record.data as AgentEventRecord;
  const kinds = [...(data.noted ?? []).map((n) => n.kind), data.kind].join(' + ');
  return `one record (${kinds}) of ${Buffer.byteLength(JSON.stringify(record))} B`;
}

/** One call's records from a finished run: a tool.result, then the llm.message and tool.call after it. */
export function oneCallsRecords(events: readonly AgentEvent[]): AgentEvent[] {
  const call = events.findLastIndex((e) => e.kind === 'tool.call');
  const message = events.findLastIndex((e, i) => i < call && e.kind === 'llm.message');
  const result = events.findLastIndex((e, i) => i < message && e.kind === 'tool.result');
  if (call < 0 || message < 0 || result < 0) throw new Error('bench run has no tool.result, llm.message, tool.call');
  return [events[result]!, events[message]!, events[call]!];
}
