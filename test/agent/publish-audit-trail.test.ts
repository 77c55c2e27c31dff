import { afterEach, describe, expect, it } from 'vitest';
import { componentContext, type TestContext } from '../helpers/component-context.ts';
import { settled, startAgent, stopAgents } from './agent-harness.ts';
import { skillIntent } from '../helpers/intents.ts';

// The run's events say what was done: the value that reached the robot, and the rule that changed it when it
// is not the one asked. A `publish` of x=5 on the velocity topic, as a TwistStamped the velocity hook did not
// read as a Twist, was journaled as asked (x: 5) with no rule, while the velocity gate downstream sent 0.1.

afterEach(() => stopAgents());

type Event = { kind: string; payload: Record<string, unknown> };

function cmdVel(ctx: TestContext): { linear: { x: number } }[] {
  const seen: { linear: { x: number } }[] = [];
  ctx.bus.subscribe({
    name: 'base',
    topic: '/cmd_vel',
    queue: { depth: 100 },
    handler: (m) => void seen.push(ctx.codec.decode(m.type, m.data)),
  });
  return seen;
}

async function publishIntent(ctx: TestContext, params: Record<string, unknown>): Promise<Event[]> {
  const agent = await startAgent(ctx, {});
  const run = await agent.submitIntent(skillIntent('publish', params), 'http');
  return (await settled(agent, run.run_id)).events as Event[];
}

/** The tool result's `sent`, and every policy decision of the run. */
function trail(events: Event[]): { sent: unknown; decisions: Record<string, unknown>[] } {
  const result = events.find((e) => e.kind === 'tool.result')!.payload.result as { output: { sent: unknown } };
  return {
    sent: result.output.sent,
    decisions: events.filter((e) => e.kind === 'policy.decision').map((e) => e.payload),
  };
}

describe('the audit trail of a publish on the velocity topic', () => {
  it("shows the value the velocity gate sent, and names the gate's rule, when the hook did not clamp it", async () => {
    const ctx = componentContext({ motion: { velocity: { max_linear_x: 0.1, max_angular_z: 1 } } });
    const base = cmdVel(ctx);
    const events = await publishIntent(ctx, {
      topic: '/cmd_vel',
      type: 'geometry_msgs/msg/TwistStamped',
      fields: { linear: { x: 5 } },
    });
    expect(base.map((t) => t.linear.x)).toEqual([0.1]);
    const { sent, decisions } = trail(events);
    expect(sent).toMatchObject({ linear: { x: 0.1 } });
    expect(decisions).toEqual([
      expect.objectContaining({
        hook: 'cmd_vel_gate',
        rule: 'velocity.limit',
        action: 'rewrite',
        stage: 'frame',
        reason: expect.stringContaining('linear.x| 5 > 0.1'),
      }),
    ]);
  });

  it('shows the value the hook let through and its rule when the hook clamped it, with no second rule', async () => {
    const ctx = componentContext({ motion: { velocity: { max_linear_x: 0.1, max_angular_z: 1 } } });
    const base = cmdVel(ctx);
    const events = await publishIntent(ctx, { topic: '/cmd_vel', fields: { linear: { x: 5 } } });
    expect(base.map((t) => t.linear.x)).toEqual([0.1]);
    const { sent, decisions } = trail(events);
    expect(sent).toMatchObject({ linear: { x: 0.1 } });
    expect(decisions).toEqual([expect.objectContaining({ hook: 'velocity', rule: 'velocity.limit', stage: 'before' })]);
  });
});
