import { afterEach, describe, expect, it } from 'vitest';
import { newId } from '../util/ids.ts';
import { waitFor } from '../../test/helpers/wait.ts';
import { componentContext, type TestContext } from '../../test/helpers/component-context.ts';
import { AgentComponent } from './agent-component.ts';
import type { NavigationService } from './services.ts';

/** agent.navigation.odom_topic and tolerance_m reach the agent's Navigator and the goal_reached validator. */

const agents: AgentComponent[] = [];
const timers: NodeJS.Timeout[] = [];

afterEach(async () => {
  for (const timer of timers.splice(0)) clearInterval(timer);
  for (const agent of agents.splice(0)) await agent.close();
});

const config = { agent: { navigation: { odom_topic: '/robot1/odom', tolerance_m: 0.3 } } };

function odometry(ctx: TestContext, topic: string) {
  const pub = ctx.bus.advertise(topic, 'nav_msgs/msg/Odometry', {
    source: 'test',
    qos: { durability: 'transient_local' },
  });
  return (x: number, y: number) =>
    pub.publish(
      ctx.codec.encode('nav_msgs/msg/Odometry', {
        pose: { pose: { position: { x, y, z: 0 }, orientation: { w: 1 } } },
      }),
    );
}

async function submit(agent: AgentComponent, type: string, params: Record<string, unknown>) {
  const run = await agent.submitIntent(
    { intent_id: newId(), type, params, policy_ctx: { actor: 't', source: 'internal' }, targets: [] },
    'http',
  );
  await waitFor(() => ['succeeded', 'failed'].includes(agent.getRun(run.run_id)!.run.status), 'the run to end');
  return agent.getRun(run.run_id)!;
}

describe('agent.navigation', () => {
  it('is where goal_reached reads the robot and how close it must be, unless the validator says', async () => {
    const ctx = componentContext(config);
    const at = odometry(ctx, '/robot1/odom');
    // Nothing on /odom: a validator reading it would fail for want of a message.
    const navigation: NavigationService = {
      async navigateTo(goal) {
        at(goal.x - 0.25, goal.y);
        return { reached: true, outcome: 'reached', message: 'arrived' };
      },
    };
    const agent = new AgentComponent(ctx, { navigation });
    agents.push(agent);
    await agent.start();
    const { run, events } = await submit(agent, 'navigate_to', { x: 2, y: 1, validators: [{ type: 'goal_reached' }] });
    expect(run.status).toBe('succeeded');
    expect(events.find((e) => e.kind === 'validator.result')!.payload).toMatchObject({
      validator: 'goal_reached(2, 1, 0.3 m)',
      passed: true,
    });
    // A validator's own tolerance still wins.
    const strict = await submit(agent, 'navigate_to', {
      x: 2,
      y: 1,
      validators: [{ type: 'goal_reached', tolerance_m: 0.1 }],
    });
    expect(strict.events.find((e) => e.kind === 'validator.result')!.payload).toMatchObject({
      passed: false,
      feedback: expect.stringMatching(/0.25 m from the goal \(tolerance 0.1 m\)/),
    });
  });

  it("drives the agent's own Navigator: its odometry topic, and arrival within tolerance_m", async () => {
    const ctx = componentContext(config);
    // A free 2 m x 2 m map; the robot sits 0.2 m from the goal, inside 0.3 m but outside the follower's own 0.1 m.
    const map = ctx.bus.advertise('/map', 'nav_msgs/msg/OccupancyGrid', {
      source: 'test',
      qos: { durability: 'transient_local' },
    });
    map.publish(
      ctx.codec.encode('nav_msgs/msg/OccupancyGrid', {
        header: { frame_id: 'map' },
        info: {
          resolution: 0.05,
          width: 40,
          height: 40,
          origin: { position: { x: 0, y: 0, z: 0 }, orientation: { w: 1 } },
        },
        data: new Int8Array(1600),
      }),
    );
    const at = odometry(ctx, '/robot1/odom');
    at(1, 1);
    // The robot does not move; its odometry keeps coming, as a real one's would.
    timers.push(setInterval(() => at(1, 1), 10));
    const agent = new AgentComponent(ctx);
    agents.push(agent);
    await agent.start();
    const { run, events } = await submit(agent, 'navigate_to', { x: 1.2, y: 1 });
    expect(run).toMatchObject({ status: 'succeeded' });
    expect(events.find((e) => e.kind === 'tool.result')!.payload).toMatchObject({
      result: { ok: true, output: { reached: true } },
    });
  });
});
