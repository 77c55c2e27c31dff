import { afterEach, describe, expect, it } from 'vitest';
import type { Bus } from '../../daemon/bus/bus.ts';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import type { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import type { AgentEvent } from '../../daemon/contract/schemas.ts';
import { runCleanups, type Cleanup } from '../helpers/cleanups.ts';
import { startSimDaemon } from '../helpers/daemon.ts';
import { skillIntent } from '../helpers/intents.ts';
import { goalAt, NAV } from '../helpers/nav2-goal.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * The agent drives the robot through an action: the sim serves Nav2's navigate_to_pose as Nav2 would, and
 * call_action sends it goals behind the same policy hooks as every tool call.
 */

const cleanups: Cleanup[] = [];
afterEach(() => runCleanups(cleanups));

const kinds = (events: readonly AgentEvent[]) => events.map((e) => e.kind);

/** Every goal status the sim's navigate_to_pose server publishes (action_msgs GoalStatus values). */
function watchStatuses(daemon: { bus: Bus; definitions: DefinitionsRegistry }): number[] {
  const codec = new MessageCodec(daemon.definitions);
  const seen: number[] = [];
  daemon.bus.subscribe({
    name: 'status watch',
    topic: '/navigate_to_pose/_action/status',
    queue: { policy: 'drop-oldest', depth: 100 },
    handler: (m) => {
      const { status_list } = codec.decode<{ status_list: { status: number }[] }>(m.type, m.data);
      seen.push(...status_list.map((s) => s.status));
    },
  });
  return seen;
}

describe('call_action', () => {
  it("drives the sim through Nav2's navigate_to_pose: goal, feedback and result in the run's journal", async () => {
    const { agent, sim, dock } = await startSimDaemon(cleanups, { speed: 20 });
    const run = await agent.submitIntent(
      skillIntent('call_action', { ...NAV, goal: goalAt(dock.x, dock.y) }),
      'internal',
    );
    await waitFor(
      () => ['succeeded', 'failed'].includes(agent.getRun(run.run_id)!.run.status),
      'the run to end',
      60_000,
    );
    const { run: ended, events } = agent.getRun(run.run_id)!;
    expect(ended.status).toBe('succeeded');
    expect(kinds(events)).toEqual(
      expect.arrayContaining(['tool.call', 'action.goal', 'action.feedback', 'action.result', 'tool.result']),
    );
    const result = events.find((e) => e.kind === 'action.result')!.payload;
    expect(result).toMatchObject({ action: '/navigate_to_pose', state: 'succeeded', tool: 'call_action' });
    const pose = sim.world.pose();
    expect(Math.hypot(pose.x - dock.x, pose.y - dock.y)).toBeLessThan(0.3);
  });

  it('refuses a goal whose pose is outside the geofence before it is sent: the robot does not move', async () => {
    const { agent, sim, daemon } = await startSimDaemon(cleanups, {
      speed: 20,
      config: {
        motion: {
          geofence: {
            polygon: [
              { x: 0, y: 0 },
              { x: 2, y: 0 },
              { x: 2, y: 2 },
              { x: 0, y: 2 },
            ],
          },
        },
      },
    });
    const statuses = watchStatuses(daemon);
    const start = sim.world.pose();
    const run = await agent.submitIntent(skillIntent('call_action', { ...NAV, goal: goalAt(5, 5) }), 'internal');
    await waitFor(() => agent.getRun(run.run_id)!.run.status === 'failed', 'the run to fail');
    const { events } = agent.getRun(run.run_id)!;
    expect(events.find((e) => e.kind === 'policy.decision')?.payload).toMatchObject({
      rule: 'geofence',
      reason: 'goal position (5, 5) is outside the geofence (motion.geofence.polygon)',
    });
    expect(kinds(events)).not.toContain('action.goal');
    // The server's status array never listed a goal.
    expect(statuses).toEqual([]);
    expect(sim.world.pose()).toMatchObject({ x: start.x, y: start.y });
  });

  it("cancels the goal at the operator's stop: the server sees the cancel, the run ends, the robot stops short", async () => {
    const { agent, sim, dock, daemon } = await startSimDaemon(cleanups, { speed: 2 });
    const statuses = watchStatuses(daemon);
    const start = sim.world.pose();
    const run = await agent.submitIntent(
      skillIntent('call_action', { ...NAV, goal: goalAt(dock.x, dock.y) }),
      'internal',
    );
    await waitFor(() => Math.hypot(sim.world.pose().x - start.x, sim.world.pose().y - start.y) > 0.1, 'moving');
    await agent.halt('ada', 'test stop');
    await waitFor(() => agent.getRun(run.run_id)!.run.status !== 'running', 'the run to end');
    await waitFor(
      () => agent.getRun(run.run_id)!.events.some((e) => e.kind === 'tool.result'),
      "the call's result in the run",
    );
    const { events } = agent.getRun(run.run_id)!;
    expect(events.find((e) => e.kind === 'tool.result')?.payload).toMatchObject({
      tool: 'call_action',
      result: { ok: false, error: expect.stringMatching(/^call_action \/navigate_to_pose: the goal ended canceled/) },
    });
    // The server saw the cancel: its goal went canceling (3), then canceled (5).
    await waitFor(() => statuses.includes(5), 'the goal canceled at the server');
    expect(statuses).toContain(3);
    expect(agent.actionGoals.inFlight()).toEqual([]);
    const pose = sim.world.pose();
    expect(Math.hypot(pose.x - dock.x, pose.y - dock.y)).toBeGreaterThan(0.3);
  });

  it("refuses call_service to an action's own services, and an action agent.rules.actions denies", async () => {
    const { agent, dock } = await startSimDaemon(cleanups, {
      config: { agent: { rules: { actions: { allow: ['**'], deny: ['/navigate_to_pose'] } } } },
    });
    const bypass = await agent.submitIntent(
      skillIntent('call_service', {
        name: '/navigate_to_pose/_action/send_goal',
        request: { goal_id: { uuid: Array(16).fill(1) }, goal: goalAt(dock.x, dock.y) },
      }),
      'internal',
    );
    await waitFor(() => agent.getRun(bypass.run_id)!.run.status === 'failed', 'the bypass refused');
    expect(agent.getRun(bypass.run_id)!.events.find((e) => e.kind === 'policy.decision')?.payload).toMatchObject({
      rule: 'services.action',
    });
    const denied = await agent.submitIntent(skillIntent('call_action', { ...NAV, goal: goalAt(1, 1) }), 'internal');
    await waitFor(() => agent.getRun(denied.run_id)!.run.status === 'failed', 'the denied action refused');
    expect(agent.getRun(denied.run_id)!.events.find((e) => e.kind === 'policy.decision')?.payload).toMatchObject({
      rule: 'actions.deny',
    });
  });

  it('sends navigate_to to Nav2 when agent.navigation.nav2_action names its NavigateToPose server', async () => {
    const { agent, sim, dock } = await startSimDaemon(cleanups, {
      speed: 20,
      config: { agent: { navigation: { nav2_action: '/navigate_to_pose' } } },
    });
    const run = await agent.submitIntent(skillIntent('navigate_to', { x: dock.x, y: dock.y }), 'internal');
    await waitFor(
      () => ['succeeded', 'failed'].includes(agent.getRun(run.run_id)!.run.status),
      'the run to end',
      60_000,
    );
    const { run: ended, events } = agent.getRun(run.run_id)!;
    expect(ended.status).toBe('succeeded');
    expect(events.find((e) => e.kind === 'action.goal')?.payload).toMatchObject({
      tool: 'navigate_to',
      action: '/navigate_to_pose',
      type: 'nav2_msgs/action/NavigateToPose',
    });
    const pose = sim.world.pose();
    expect(Math.hypot(pose.x - dock.x, pose.y - dock.y)).toBeLessThan(0.3);
  });

  it('waits for a person where agent.require_approval lists it, and is refused while the stop is latched', async () => {
    const { agent, daemon, dock } = await startSimDaemon(cleanups, {
      speed: 20,
      config: { agent: { require_approval: ['call_action'] } },
    });
    const statuses = watchStatuses(daemon);
    const run = await agent.submitIntent(
      skillIntent('call_action', { ...NAV, goal: goalAt(dock.x, dock.y) }),
      'internal',
    );
    await waitFor(() => agent.getRun(run.run_id)!.run.status === 'awaiting_approval', 'the approval asked');
    expect(statuses).toEqual([]);
    await agent.approve(run.run_id, 'ada');
    await waitFor(() => agent.getRun(run.run_id)!.run.status === 'succeeded', 'the goal reached', 60_000);

    await agent.halt('ada', 'latched for the test');
    const refused = await agent.submitIntent(skillIntent('call_action', { ...NAV, goal: goalAt(1, 1) }), 'internal');
    await waitFor(() => ['failed', 'succeeded'].includes(agent.getRun(refused.run_id)!.run.status), 'the refusal');
    const { run: ended } = agent.getRun(refused.run_id)!;
    const result = agent.getRun(refused.run_id)!.events.find((e) => e.kind === 'tool.result')?.payload;
    expect(JSON.stringify({ ended, result })).toMatch(/the robot is stopped: latched by ada/);
    expect(kinds(agent.getRun(refused.run_id)!.events)).not.toContain('action.goal');
  });
});
