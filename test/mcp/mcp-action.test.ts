import { afterEach, describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../daemon/contract/schemas.ts';
import { runCleanups, type Cleanup } from '../helpers/cleanups.ts';
import { goalAt, NAV } from '../helpers/nav2-goal.ts';
import { connectClient, httpTransport, startMcpDaemon, untrustedData } from './mcp-client.ts';

/** An outside agent sends Nav2 goals to the sim through MCP's call_action, behind the agent's own frames. */

const cleanups: Cleanup[] = [];
afterEach(() => runCleanups(cleanups));

const ACTIONS = { mcp: { tools: ['call_action', 'runs'] } };

interface FollowedRun {
  run: { run_id: string; status: string; reason?: string };
  events: AgentEvent[];
}

const followed = (result: unknown) => untrustedData(result).data as unknown as FollowedRun;
const kinds = (run: FollowedRun) => run.events.map((e) => e.kind);

describe('call_action through MCP', () => {
  it("drives the sim to the dock through navigate_to_pose: goal, feedback and result in the caller's run", async () => {
    const { url, sim, dock } = await startMcpDaemon(cleanups, ACTIONS, { speed: 20 });
    const client = await connectClient(cleanups, httpTransport(url), 'nav-agent');
    const call = await client.callTool({
      name: 'call_action',
      arguments: { ...NAV, goal: goalAt(dock.x, dock.y), wait_s: 60 },
    });
    expect(call.isError).toBeFalsy();
    const run = followed(call);
    expect(run.run.status).toBe('succeeded');
    expect(kinds(run)).toEqual(expect.arrayContaining(['action.goal', 'action.feedback', 'action.result']));
    expect(run.events.find((e) => e.kind === 'action.result')!.payload).toMatchObject({ state: 'succeeded' });
    expect(JSON.stringify(run.events[0])).toContain('mcp:nav-agent');
    const pose = sim.world.pose();
    expect(Math.hypot(pose.x - dock.x, pose.y - dock.y)).toBeLessThan(0.3);
  });

  it('is refused while the stop is latched: no goal is sent and the robot does not move', async () => {
    const { url, sim, dock } = await startMcpDaemon(cleanups, ACTIONS, { speed: 20 });
    const client = await connectClient(cleanups, httpTransport(url), 'nav-agent');
    expect((await client.callTool({ name: 'stop', arguments: { reason: 'hands off' } })).isError).toBeFalsy();
    const start = sim.world.pose();
    const call = await client.callTool({ name: 'call_action', arguments: { ...NAV, goal: goalAt(dock.x, dock.y) } });
    expect(call.isError).toBe(true);
    const run = followed(call);
    expect(run.run.status).toBe('failed');
    expect(JSON.stringify(run)).toMatch(/the robot is stopped: latched by mcp:nav-agent/);
    expect(kinds(run)).not.toContain('action.goal');
    expect(sim.world.pose()).toMatchObject({ x: start.x, y: start.y });
  });

  it('is refused for an action agent.rules.actions does not allow, in a run that names the rule', async () => {
    const { url, sim, dock } = await startMcpDaemon(cleanups, {
      ...ACTIONS,
      agent: { rules: { actions: { allow: ['**'], deny: ['/navigate_to_pose'] } } },
    });
    const client = await connectClient(cleanups, httpTransport(url));
    const start = sim.world.pose();
    const call = await client.callTool({ name: 'call_action', arguments: { ...NAV, goal: goalAt(dock.x, dock.y) } });
    expect(call.isError).toBe(true);
    const run = followed(call);
    expect(run.run.status).toBe('failed');
    expect(run.events.find((e) => e.kind === 'policy.decision')?.payload).toMatchObject({
      rule: 'actions.deny',
      action: 'deny',
    });
    expect(kinds(run)).not.toContain('action.goal');
    expect(sim.world.pose()).toMatchObject({ x: start.x, y: start.y });
  });
});
