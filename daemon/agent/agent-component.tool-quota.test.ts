import { fauxAssistantMessage, fauxToolCall } from '@mariozechner/pi-ai';
import { afterEach, describe, expect, it } from 'vitest';
import { newId } from '../util/ids.ts';
import { waitFor } from '../../test/helpers/wait.ts';
import { componentContext } from '../../test/helpers/component-context.ts';
import { fauxModel, startAgent, stopAgents } from '../../test/agent/agent-harness.ts';
import type { AgentComponent } from './agent-component.ts';

afterEach(stopAgents);

const nl = (text: string, policyCtx: Record<string, unknown> = {}) => ({
  intent_id: newId(),
  type: 'natural_language',
  params: { text },
  policy_ctx: { actor: 'tester', source: 'internal', ...policyCtx },
  targets: [],
});

async function settled(agent: AgentComponent, runId: string) {
  await waitFor(
    () => ['succeeded', 'failed', 'cancelled', 'interrupted'].includes(agent.getRun(runId)!.run.status),
    `run ${runId} to end`,
  );
  return agent.getRun(runId)!;
}

describe('the tool-call quota', () => {
  it('counts calls of tools the agent does not have, journals them as refused, and ends the run at the quota', async () => {
    const { faux, model } = fauxModel();
    // A model that calls a made-up tool for ever (it would, until the token quota, or never with no usage).
    faux.setResponses(
      Array.from({ length: 50 }, () =>
        fauxAssistantMessage([fauxToolCall('self_destruct', { now: true })], { stopReason: 'toolUse' }),
      ),
    );
    const agent = await startAgent(componentContext(), { model });
    const run = await agent.submitIntent(nl('stop the robot', { max_tool_calls: 3 }), 'http');
    const { run: state, events } = await settled(agent, run.run_id);
    expect(state.status).toBe('failed');
    expect(state.reason).toBe("quota.tool_calls: call 4 exceeds the run's quota of 3 tool calls");
    expect(faux.state.callCount).toBe(4);
    const refused = events.filter((e) => e.kind === 'tool.result');
    expect(refused).toHaveLength(4);
    expect(refused[0]!.payload).toMatchObject({
      tool: 'self_destruct',
      refused: true,
      result: { ok: false, error: 'Tool self_destruct not found' },
    });
    const decisions = events.filter((e) => e.kind === 'policy.decision').map((e) => e.payload.rule);
    expect(decisions).toEqual(['tool.unknown', 'tool.unknown', 'tool.unknown', 'tool.unknown', 'quota.tool_calls']);
    expect(events.find((e) => e.kind === 'policy.decision')!.payload).toMatchObject({
      tool: 'self_destruct',
      action: 'deny',
      reason: expect.stringMatching(/^unknown tool self_destruct: the agent's tools are navigate_to, /),
    });
  });

  it('ends the run when a known tool is called past the quota', async () => {
    const { faux, model } = fauxModel();
    faux.setResponses(
      Array.from({ length: 50 }, () => fauxAssistantMessage([fauxToolCall('stop', {})], { stopReason: 'toolUse' })),
    );
    const agent = await startAgent(componentContext(), { model });
    const run = await agent.submitIntent(nl('stop, again and again', { max_tool_calls: 2 }), 'http');
    const { run: state, events } = await settled(agent, run.run_id);
    expect(state.status).toBe('failed');
    expect(state.reason).toBe("quota.tool_calls: call 3 exceeds the run's quota of 2 tool calls");
    expect(events.filter((e) => e.kind === 'tool.call')).toHaveLength(2);
    expect(faux.state.callCount).toBe(3);
  });
});
