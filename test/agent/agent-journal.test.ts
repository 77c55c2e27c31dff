import {
  fauxAssistantMessage,
  fauxToolCall,
  registerFauxProvider,
  streamSimple,
  type FauxProviderRegistration,
} from '@mariozechner/pi-ai';
import { describe, expect, it } from 'vitest';
import { AgentComponent } from '../../daemon/agent/agent-component.ts';
import { RunStore } from '../../daemon/agent/run-store.ts';
import { newId } from '../../daemon/util/ids.ts';
import type { PolicyHook } from '../../daemon/contract/policy-hook.ts';
import type { AgentEvent, RunState } from '../../daemon/contract/schemas.ts';
import { agentEventsOf } from '../../daemon/contract/agent-events-of.ts';
import type { AgentEventRecord } from '../../daemon/contract/agent-event-record.ts';
import { DurableJournal } from '../../daemon/journal/durable-journal.ts';
import { tempDir } from '../helpers/cli.ts';
import { tick, waitFor } from '../helpers/wait.ts';
import { componentContext, type TestContext } from '../helpers/component-context.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

// How the agent's records reach the journal now that a tool call's records are written together: every
// event is in the journal, in the order it happened, before the run reports its end; a model message is
// journaled before any of its tool calls acts; a tool call is durable before its skill acts (but stop:
// robot-stop.test.ts).

const cleanups = cleanupStack();

/** The tool call each model step makes: by default `stop`. */
type Call = { name: string; args: Record<string, unknown> };
const STOP: Call = { name: 'stop', args: {} };
const PUBLISH_ZERO: Call = { name: 'publish', args: { topic: '/cmd_vel', fields: { linear: { x: 0 } } } };

async function setup(
  policyCtx: Record<string, unknown> = {},
  calls = 5,
  hooks: PolicyHook[] = [],
  call: Call = STOP,
): Promise<{
  agent: AgentComponent;
  journal: DurableJournal;
  faux: FauxProviderRegistration;
  ctx: TestContext;
  submit: () => Promise<RunState>;
}> {
  const dir = tempDir('agent-journal-');
  const journal = new DurableJournal({ dir: dir.path, fsync: 'never' });
  const ctx = componentContext({ agent: { intent_topic: '', skills: ['stop', 'publish'] } }, { journal });
  const faux = registerFauxProvider();
  const steps = Array.from({ length: calls }, () =>
    fauxAssistantMessage([fauxToolCall(call.name, call.args)], { stopReason: 'toolUse' }),
  );
  faux.setResponses([...steps, fauxAssistantMessage('Stopped.')]);
  const agent = new AgentComponent(ctx, {
    model: { streamFn: streamSimple, primaryModel: faux.getModel(), available: () => ({ ok: true }) },
    hooks,
  });
  await agent.start();
  cleanups.push(
    dir.cleanup,
    () => journal.close(),
    () => faux.unregister(),
    () => agent.close(),
  );
  const intent = {
    intent_id: newId(),
    type: 'natural_language',
    params: { text: 'stop, repeatedly' },
    policy_ctx: { actor: 't', source: 'internal', ...policyCtx },
    targets: [],
  };
  return { agent, journal, faux, ctx, submit: () => agent.submitIntent(intent, 'internal') };
}

const TERMINAL = ['succeeded', 'failed', 'cancelled', 'interrupted'];

/** The run's events and states in journal order (a tool call's record carries the events written with it). */
function journaled(journal: DurableJournal, runId: string): (AgentEvent | RunState)[] {
  return journal
    .read(1, 10_000)
    .flatMap((r): (AgentEvent | RunState)[] =>
      r.kind === 'agent_event' ? agentEventsOf(r.data as AgentEventRecord) : [r.data as RunState],
    )
    .filter((d) => d.run_id === runId);
}

describe('the agent journal', () => {
  it('journals every event of a run in order, each model message before its calls, all before the run ends', async () => {
    const { agent, journal, ctx, submit } = await setup({}, 5, [], PUBLISH_ZERO);
    // Write-ahead: each zero twist reaches /cmd_vel only after its tool.call is in the journal. (The call
    // is `publish`: `stop`, the one skill that acts first, is tested in robot-stop.test.ts.)
    const callsWhenTwisted: number[] = [];
    ctx.bus.subscribe({
      name: 'test-watch',
      topic: '/cmd_vel',
      handler: () =>
        void callsWhenTwisted.push(
          journal.read(1, 10_000).filter((r) => (r.data as AgentEvent).kind === 'tool.call').length,
        ),
    });
    const accepted = await submit();
    await waitFor(() => TERMINAL.includes(agent.getRun(accepted.run_id)!.run.status), 'the run to end');
    const { run, events } = agent.getRun(accepted.run_id)!;
    expect(run.status).toBe('succeeded');

    const records = journaled(journal, accepted.run_id);
    // The terminal state is the last record, and every event the run shows is in the journal, in order.
    expect((records.at(-1) as RunState).status).toBe('succeeded');
    const journaledEvents = records.filter((r): r is AgentEvent => 'event_id' in r);
    expect(journaledEvents.map((e) => e.event_id)).toEqual(events.map((e) => e.event_id));
    expect(events.map((e) => e.kind)).toEqual([
      'intent.accepted',
      'llm.message', // the user's text
      ...Array.from({ length: 5 }, () => ['llm.message', 'tool.call', 'tool.result']).flat(),
      'llm.message', // the answer
    ]);
    // Each call follows the model message that asked for it.
    for (const [i, e] of events.entries()) {
      if (e.kind !== 'tool.call') continue;
      const asked = events[i - 1]!.payload.message as { content: { type: string; id?: string }[] };
      expect(asked.content.some((c) => c.type === 'toolCall' && c.id === e.payload.call_id)).toBe(true);
    }
    // One journal record a tool call (with the previous result and the model's message in it), one for the
    // intent and one for the last result and the answer.
    const eventRecords = journal
      .read(1, 10_000)
      .filter((r) => r.kind === 'agent_event' && (r.data as AgentEvent).run_id === accepted.run_id);
    expect(eventRecords.map((r) => (r.data as AgentEvent).kind)).toEqual([
      'intent.accepted',
      ...Array.from({ length: 5 }, () => 'tool.call'),
      'llm.message',
    ]);
    await waitFor(() => callsWhenTwisted.length === 5, 'five zero twists');
    expect(callsWhenTwisted).toEqual([1, 2, 3, 4, 5]);

    // A restart reads back the same run.
    const store = new RunStore(journal);
    store.rebuild();
    expect(store.get(accepted.run_id)!.events.map((e) => e.event_id)).toEqual(events.map((e) => e.event_id));
  });

  it('stops a run over its token quota before the call the over-quota message asked for', async () => {
    const { agent, journal, submit } = await setup({ max_tokens: 10 });
    const accepted = await submit();
    await waitFor(() => TERMINAL.includes(agent.getRun(accepted.run_id)!.run.status), 'the run to end');
    const { run, events } = agent.getRun(accepted.run_id)!;
    expect(run).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^quota\.tokens: /) });
    expect(events.map((e) => e.kind)).toEqual(['intent.accepted', 'llm.message', 'llm.message', 'policy.decision']);
    expect(events.at(-1)!.payload).toMatchObject({ rule: 'quota.tokens', action: 'deny' });
    expect(journaled(journal, accepted.run_id).filter((r) => 'event_id' in r)).toHaveLength(4);
  });

  it('waits for hooks that decide asynchronously, before and after a call', async () => {
    const later = tick;
    const hook: PolicyHook = {
      name: 'slow',
      async beforeToolCall(ctx) {
        await later();
        return ctx.callIndex === 2
          ? { action: 'deny', rule: 'slow.second', reason: 'not the second call' }
          : { action: 'allow' };
      },
      async afterToolCall(_ctx, _input, result) {
        await later();
        return {
          action: 'rewrite',
          rule: 'slow.tag',
          reason: 'tagged',
          value: result.ok ? { ok: true, output: { tagged: result.output } } : result,
        };
      },
    };
    const { agent, submit } = await setup({}, 3, [hook]);
    const accepted = await submit();
    await waitFor(() => TERMINAL.includes(agent.getRun(accepted.run_id)!.run.status), 'the run to end');
    const { run, events } = agent.getRun(accepted.run_id)!;
    expect(run.status).toBe('succeeded');
    expect(events.filter((e) => e.kind === 'tool.call')).toHaveLength(2);
    const decisions = events.filter((e) => e.kind === 'policy.decision').map((e) => [e.payload.stage, e.payload.rule]);
    expect(decisions).toEqual([
      ['after', 'slow.tag'],
      ['before', 'slow.second'],
      ['after', 'slow.tag'],
    ]);
    const results = events.filter((e) => e.kind === 'tool.result');
    expect(results.map((e) => e.payload.refused ?? false)).toEqual([false, true, false]);
    expect(results[0]!.payload.screened).toEqual({ ok: true, output: { tagged: { stopped: true, cancelled: null } } });
  });
});
