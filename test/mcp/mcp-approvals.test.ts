import { afterEach, describe, expect, it } from 'vitest';
import type { AgentEvent, RunState } from '../../daemon/contract/schemas.ts';
import { runCleanups, type Cleanup } from '../helpers/cleanups.ts';
import { waitFor } from '../helpers/wait.ts';
import { connectClient, gatewayCounters, httpTransport, metric, startMcpDaemon, text } from './mcp-client.ts';
import { untrustedData } from './mcp-client.ts';

const cleanups: Cleanup[] = [];
afterEach(() => runCleanups(cleanups));

/** An MCP client that may submit intents and decide about runs, as a desktop agent given every tool. */
const DECIDING = { mcp: { tools: ['submit_intent', 'approve', 'cancel', 'runs'] } };
/** One message on /chatter: an acting call that agent.require_approval or the intent holds for a person. */
const CHATTER = { topic: '/chatter', type: 'std_msgs/msg/String', fields: { data: 'hello' } };

type Agent = Awaited<ReturnType<typeof startMcpDaemon>>['agent'];

/** The operator's intent over the local API, asking a person to approve its acting call. */
async function operatorIntent(url: string): Promise<RunState> {
  const reply = await fetch(`${url}/intents`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      type: 'publish',
      params: CHATTER,
      policy_ctx: { actor: 'ada', requires_approval: true },
    }),
  });
  expect(reply.status).toBe(201);
  return ((await reply.json()) as { run: RunState }).run;
}

async function awaiting(agent: Agent, runId: string): Promise<void> {
  await waitFor(() => agent.getRun(runId)!.run.status === 'awaiting_approval', `run ${runId} to await approval`);
}

/** An MCP client's own intent, held for approval by agent.require_approval: [publish]. */
async function mcpIntent(client: Awaited<ReturnType<typeof connectClient>>): Promise<string> {
  const submitted = await client.callTool({
    name: 'submit_intent',
    arguments: { type: 'publish', params: CHATTER, wait_s: 10 },
  });
  const { run } = untrustedData(submitted).data as { run: RunState };
  expect(run.status).toBe('awaiting_approval');
  return run.run_id;
}

function approverDecisions(events: AgentEvent[]) {
  return events.filter((e) => e.kind === 'policy.decision' && e.payload.rule === 'approval.approver');
}

describe('approvals over MCP (agent.rules.approval)', () => {
  it('refuses an MCP client approving the run it started, or another MCP client doing so, counted and in the run; the operator approves it', async () => {
    const { url, agent } = await startMcpDaemon(cleanups, { ...DECIDING, agent: { require_approval: ['publish'] } });
    const asker = await connectClient(cleanups, httpTransport(url), 'asker');
    const runId = await mcpIntent(asker);

    const own = await asker.callTool({ name: 'approve', arguments: { run_id: runId } });
    expect(own.isError).toBe(true);
    expect(text(own)).toContain('mcp:asker (through mcp) may not approve its own run');
    const other = await connectClient(cleanups, httpTransport(url), 'accomplice');
    const theirs = await other.callTool({ name: 'approve', arguments: { run_id: runId } });
    expect(theirs.isError).toBe(true);
    expect(text(theirs)).toContain('may not approve a run started through mcp (by mcp:asker)');

    // Still waiting for a person, with both refusals in the run, counted by the gateway and the agent.
    const { run, events } = agent.getRun(runId)!;
    expect(run.status).toBe('awaiting_approval');
    expect(approverDecisions(events).map((e) => e.payload)).toMatchObject([
      { action: 'deny', by: 'mcp:asker', source: 'mcp' },
      { action: 'deny', by: 'mcp:accomplice', source: 'mcp' },
    ]);
    expect((await gatewayCounters(asker)).refused).toEqual({ 'approve:forbidden': 2 });
    expect(await metric(url, 'auraison_mcp_refused_total{tool="approve",reason="forbidden"}')).toBe(2);
    expect(await metric(url, 'auraison_agent_policy_decisions_total{rule="approval.approver"}')).toBe(2);

    const approved = await fetch(`${url}/runs/${runId}/approve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ by: 'ada' }),
    });
    expect(approved.status).toBe(200);
    await waitFor(() => agent.getRun(runId)!.run.status === 'succeeded', 'the run the operator approved to end');
  });

  it("lets an MCP client approve the operator's run, and cancel one; cancelling an ended run is refused and counted", async () => {
    const { url, agent } = await startMcpDaemon(cleanups, DECIDING);
    const client = await connectClient(cleanups, httpTransport(url), 'helper');
    const first = await operatorIntent(url);
    await awaiting(agent, first.run_id);
    const approve = await client.callTool({ name: 'approve', arguments: { run_id: first.run_id } });
    expect(approve.isError).toBeFalsy();
    await waitFor(() => agent.getRun(first.run_id)!.run.status === 'succeeded', 'the approved run to end');
    expect(JSON.stringify(agent.getRun(first.run_id)!.events)).toContain('"by":"mcp:helper"');

    const second = await operatorIntent(url);
    await awaiting(agent, second.run_id);
    const cancel = await client.callTool({ name: 'cancel', arguments: { run_id: second.run_id, reason: 'not now' } });
    expect(cancel.isError).toBeFalsy();
    expect(agent.getRun(second.run_id)!.run).toMatchObject({
      status: 'cancelled',
      reason: 'cancelled by mcp:helper: not now',
    });
    const late = await client.callTool({ name: 'cancel', arguments: { run_id: second.run_id } });
    expect(late.isError).toBe(true);
    expect(text(late)).toContain('already ended (cancelled)');
    expect((await gatewayCounters(client)).refused).toEqual({ 'cancel:conflict': 1 });
  });

  it("with outside_may_approve not_own, lets an MCP client approve another one's run, never its own", async () => {
    const { url, agent } = await startMcpDaemon(cleanups, {
      ...DECIDING,
      agent: { require_approval: ['publish'], rules: { approval: { outside_may_approve: 'not_own' } } },
    });
    const asker = await connectClient(cleanups, httpTransport(url), 'asker');
    const reviewer = await connectClient(cleanups, httpTransport(url), 'reviewer');
    const runId = await mcpIntent(asker);
    expect((await asker.callTool({ name: 'approve', arguments: { run_id: runId } })).isError).toBe(true);
    expect((await reviewer.callTool({ name: 'approve', arguments: { run_id: runId } })).isError).toBeFalsy();
    await waitFor(() => agent.getRun(runId)!.run.status === 'succeeded', 'the run the reviewer approved to end');
    expect(approverDecisions(agent.getRun(runId)!.events)).toHaveLength(1);
  });
});
