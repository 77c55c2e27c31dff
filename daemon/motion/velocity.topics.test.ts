import { afterEach, describe, expect, it } from 'vitest';
import type { BusMessage } from '../bus/types.ts';
import { newId } from '../util/ids.ts';
import { waitFor } from '../../test/helpers/wait.ts';
import { componentContext, type TestContext } from '../../test/helpers/component-context.ts';
import { startAgent, stopAgents } from '../../test/agent/agent-harness.ts';

afterEach(stopAgents);

const publish = (params: Record<string, unknown>) => ({
  intent_id: newId(),
  type: 'publish',
  params,
  policy_ctx: { actor: 'tester', source: 'internal' },
  targets: [],
});

function watch(ctx: TestContext, topic: string): Record<string, unknown>[] {
  const seen: Record<string, unknown>[] = [];
  ctx.bus.subscribe({
    name: 'test-watch',
    topic,
    handler: (msg: BusMessage) => void seen.push(ctx.codec.decode(msg.type, msg.data)),
  });
  return seen;
}

describe('motion.velocity.topics', () => {
  it('clamps a Twist the agent publishes on a namespaced velocity topic (/robot1/cmd_vel)', async () => {
    const ctx = componentContext();
    const seen = watch(ctx, '/robot1/cmd_vel');
    const agent = await startAgent(ctx);
    const run = await agent.submitIntent(
      publish({
        topic: '/robot1/cmd_vel',
        type: 'geometry_msgs/msg/Twist',
        fields: { linear: { x: 5 }, angular: { z: 10 } },
      }),
      'http',
    );
    await waitFor(() => seen.length === 1, 'the Twist on /robot1/cmd_vel');
    expect(seen[0]).toMatchObject({ linear: { x: 0.22 }, angular: { z: 2.84 } });
    const { events } = agent.getRun(run.run_id)!;
    expect(events.find((e) => e.kind === 'policy.decision')!.payload).toMatchObject({
      rule: 'velocity.limit',
      action: 'rewrite',
    });
  });

  it('clamps the twist inside a TwistStamped, and leaves topics outside the globs alone', async () => {
    const ctx = componentContext({ motion: { velocity: { topics: ['/cmd_vel', '/base/*/cmd_vel_stamped'] } } });
    const stamped = watch(ctx, '/base/left/cmd_vel_stamped');
    const other = watch(ctx, '/robot1/cmd_vel');
    const agent = await startAgent(ctx);
    await agent.submitIntent(
      publish({
        topic: '/base/left/cmd_vel_stamped',
        type: 'geometry_msgs/msg/TwistStamped',
        fields: { header: { frame_id: 'base' }, twist: { linear: { x: -3 }, angular: { z: 1 } } },
      }),
      'http',
    );
    await agent.submitIntent(
      publish({ topic: '/robot1/cmd_vel', type: 'geometry_msgs/msg/Twist', fields: { linear: { x: 5 } } }),
      'http',
    );
    await waitFor(() => stamped.length === 1 && other.length === 1, 'both messages');
    expect(stamped[0]).toMatchObject({
      header: { frame_id: 'base' },
      twist: { linear: { x: -0.22 }, angular: { z: 1 } },
    });
    expect(other[0]).toMatchObject({ linear: { x: 5 } });
  });
});
