import { fauxAssistantMessage, fauxToolCall } from '@mariozechner/pi-ai';
import { afterEach, describe, expect, it } from 'vitest';
import { newId } from '../../daemon/util/ids.ts';
import { waitFor } from '../helpers/wait.ts';
import { componentContext } from '../helpers/component-context.ts';
import { fauxModel, startAgent, stopAgents } from './agent-harness.ts';

// A call whose arguments do not match its skill's schema is refused by pi itself, before the policy
// hooks: it left no trace in the journal (no tool.result, no decision; `runs show` skipped it) and was
// not counted toward agent.rules.quotas.max_tool_calls, so a model that kept calling with bad arguments was
// never stopped by the quota, and a resumed run's transcript told the model "Tool navigate_to not found".

afterEach(stopAgents);

const nl = (text: string, policyCtx: Record<string, unknown> = {}) => ({
  intent_id: newId(),
  type: 'natural_language',
  params: { text },
  policy_ctx: { actor: 'tester', source: 'internal', ...policyCtx },
  targets: [],
});

describe('a tool call with arguments that do not match the skill', () => {
  it('is journaled as refused, counted toward the quota, and the run ends at the quota', async () => {
    const { faux, model } = fauxModel();
    faux.setResponses(
      Array.from({ length: 50 }, () =>
        fauxAssistantMessage([fauxToolCall('navigate_to', { x: 'far', y: 1 })], { stopReason: 'toolUse' }),
      ),
    );
    const agent = await startAgent(componentContext(), { model });
    const run = await agent.submitIntent(nl('go far', { max_tool_calls: 3 }), 'http');
    await waitFor(
      () => ['succeeded', 'failed', 'cancelled', 'interrupted'].includes(agent.getRun(run.run_id)!.run.status),
      'the run to end',
    );
    const { run: state, events } = agent.getRun(run.run_id)!;
    expect(state).toMatchObject({
      status: 'failed',
      reason: "quota.tool_calls: call 4 exceeds the run's quota of 3 tool calls",
    });
    expect(faux.state.callCount).toBe(4);
    const refused = events.filter((e) => e.kind === 'tool.result');
    expect(refused).toHaveLength(4);
    expect(refused[0]!.payload).toMatchObject({
      tool: 'navigate_to',
      refused: true,
      result: { ok: false, error: expect.stringContaining('Validation failed for tool "navigate_to"') },
    });
    expect(events.filter((e) => e.kind === 'tool.call')).toHaveLength(0);
    const decisions = events.filter((e) => e.kind === 'policy.decision').map((e) => e.payload.rule);
    expect(decisions).toEqual([
      'tool.arguments',
      'tool.arguments',
      'tool.arguments',
      'tool.arguments',
      'quota.tool_calls',
    ]);
  });

  it('counts along with valid calls: a bad call, then a good one', async () => {
    const { faux, model } = fauxModel();
    faux.setResponses([
      fauxAssistantMessage([fauxToolCall('navigate_to', { x: 'far', y: 1 })], { stopReason: 'toolUse' }),
      fauxAssistantMessage([fauxToolCall('stop', {})], { stopReason: 'toolUse' }),
      fauxAssistantMessage('Stopped.'),
    ]);
    const agent = await startAgent(componentContext(), { model });
    const run = await agent.submitIntent(nl('stop'), 'http');
    await waitFor(() => ['succeeded', 'failed'].includes(agent.getRun(run.run_id)!.run.status), 'the run to end');
    const { run: state, events } = agent.getRun(run.run_id)!;
    expect(state.status).toBe('succeeded');
    expect(
      events
        .filter((e) => e.kind === 'tool.result')
        .map((e) => [e.payload.tool, (e.payload.result as { ok: boolean }).ok]),
    ).toEqual([
      ['navigate_to', false],
      ['stop', true],
    ]);
  });
});
