import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../daemon/contract/schemas.ts';
import { runCleanups, type Cleanup } from '../helpers/cleanups.ts';
import { runMain } from '../helpers/cli.ts';
import { startSimDaemon } from '../helpers/daemon.ts';
import { skillIntent } from '../helpers/intents.ts';
import { goalAt, NAV } from '../helpers/nav2-goal.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * While the operator's stop is latched no goal goes out, from the agent's call_action (an intent, as MCP runs one) or
 * the actions API (`action send_goal`), and the refusal says who latched it, how to release it and what the goal would
 * have moved: the sim serves Nav2's navigate_to_pose, whose goal drives the base. Released, the same goal is sent.
 * An arm's FollowJointTrajectory and GripperCommand at rclpy controllers: test/rclpy/rclpy-arm-goals.test.ts.
 */

const cleanups: Cleanup[] = [];
afterEach(() => runCleanups(cleanups));

const DRIVES = '(a nav2_msgs/action/NavigateToPose goal: it drives the base)';

describe('a latched stop refuses every goal, naming what it would move', () => {
  it('refuses a Nav2 goal from call_action and from the actions API; released, sends it', async () => {
    const { agent, daemon, dir, dock } = await startSimDaemon(cleanups, {
      speed: 20,
      config: { api: { port: 0 } },
      prefix: 'stop-latch-goals-',
    });
    const config = join(dir, 'edge.yaml');
    writeFileSync(config, 'data_dir: ./data\napi: {port: 0}\n');
    const cli = (...args: string[]) => runMain([...args, '--config', config], { cwd: dir, env: { USER: 'ada' } });
    const ended = (runId: string) =>
      waitFor(() => ['succeeded', 'failed'].includes(agent.getRun(runId)!.run.status), 'the run to end', 60_000);
    const goal = JSON.stringify(goalAt(dock.x, dock.y));

    expect((await cli('stop', '--reason', 'aisle inspection')).code).toBe(0);
    const refused = await agent.submitIntent(
      skillIntent('call_action', { ...NAV, goal: goalAt(dock.x, dock.y) }),
      'internal',
    );
    await ended(refused.run_id);
    const { run, events } = agent.getRun(refused.run_id)!;
    expect(run.status).toBe('failed');
    const denied = events
      .filter((e: AgentEvent) => e.kind === 'policy.decision')
      .map((e) => e.payload as { rule?: string; action?: string; reason?: string })
      .find((d) => d.rule === 'stop_latch' && d.action === 'deny');
    expect(denied?.reason).toMatch(/^the robot is stopped: latched by ada .*aisle inspection/);
    expect(denied?.reason).toContain('`auraison-edge stop --release`');
    expect(denied?.reason).toContain(DRIVES);

    const api = await cli('action', 'send_goal', NAV.name, NAV.type, goal);
    expect(api.code).toBe(1);
    expect(api.stderr).toContain('latched by ada');
    expect(api.stderr).toContain(DRIVES);
    expect(daemon.actionGoals.inFlight()).toEqual([]);

    expect((await cli('stop', '--release')).code).toBe(0);
    const sent = await agent.submitIntent(
      skillIntent('call_action', { ...NAV, goal: goalAt(dock.x, dock.y) }),
      'internal',
    );
    await ended(sent.run_id);
    expect(agent.getRun(sent.run_id)!.run.status).toBe('succeeded');
  }, 120_000);
});
