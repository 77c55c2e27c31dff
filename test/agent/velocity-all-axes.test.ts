import { fauxAssistantMessage, fauxToolCall } from '@mariozechner/pi-ai';
import { afterEach, describe, expect, it } from 'vitest';
import { componentContext, type TestContext } from '../helpers/component-context.ts';
import { fauxModel, settled, startAgent, stopAgents } from './agent-harness.ts';
import { skillIntent } from '../helpers/intents.ts';

// motion.velocity limits every axis of a Twist, not only linear.x and angular.z: a model (or a teleop panel)
// that sends a sideways or vertical velocity, or a roll or pitch rate, to a holonomic base or a drone is held to
// max_linear_y / max_linear_z / max_angular_x / max_angular_y (0 by default: a differential-drive base has no
// such axis), and a value that is not a finite number becomes 0 on every axis.

afterEach(() => stopAgents());

function watch(ctx: TestContext, topic: string): Record<string, unknown>[] {
  const seen: Record<string, unknown>[] = [];
  ctx.bus.subscribe({
    name: `watch ${topic}`,
    topic,
    queue: { depth: 100 },
    handler: (m) => void seen.push(ctx.codec.decode(m.type, m.data)),
  });
  return seen;
}

async function publishAsModel(
  ctx: TestContext,
  fields: Record<string, unknown>,
): Promise<{ sent: Record<string, unknown>[]; decisions: Record<string, unknown>[] }> {
  const sent = watch(ctx, '/cmd_vel');
  const { faux, model } = fauxModel();
  faux.setResponses([
    fauxAssistantMessage([fauxToolCall('publish', { topic: '/cmd_vel', fields })], { stopReason: 'toolUse' }),
    fauxAssistantMessage('Done.'),
  ]);
  const agent = await startAgent(ctx, { model });
  const run = await agent.submitIntent(skillIntent('natural_language', { text: 'move' }), 'http');
  const { events } = await settled(agent, run.run_id);
  return { sent, decisions: events.filter((e) => e.kind === 'policy.decision').map((e) => e.payload) };
}

describe('velocity limits on every axis of a Twist', () => {
  it('holds a sideways, vertical, roll and pitch velocity to 0 on a base configured with none', async () => {
    const ctx = componentContext({ motion: { velocity: { max_linear_x: 0.2, max_angular_z: 1 } } });
    const { sent, decisions } = await publishAsModel(ctx, {
      linear: { x: 0.1, y: 3, z: -2 },
      angular: { x: 1, y: -1, z: 0.5 },
    });
    expect(sent).toEqual([{ linear: { x: 0.1, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0.5 } }]);
    expect(decisions).toContainEqual(
      expect.objectContaining({ hook: 'velocity', rule: 'velocity.limit', action: 'rewrite' }),
    );
  });

  it('lets a holonomic base move sideways up to max_linear_y, and no further', async () => {
    const ctx = componentContext({ motion: { velocity: { max_linear_x: 0.2, max_linear_y: 0.3, max_angular_z: 1 } } });
    const { sent } = await publishAsModel(ctx, { linear: { y: -0.8 } });
    expect(sent).toEqual([{ linear: { x: 0, y: -0.3, z: 0 }, angular: { x: 0, y: 0, z: 0 } }]);
  });

  it('refuses, in reject mode, a Twist over the limit on any axis', async () => {
    const ctx = componentContext({ motion: { velocity: { max_linear_x: 0.2, max_angular_z: 1, mode: 'reject' } } });
    const { sent, decisions } = await publishAsModel(ctx, { linear: { y: 0.5 } });
    expect(sent).toEqual([]);
    expect(decisions).toContainEqual(
      expect.objectContaining({ hook: 'velocity', action: 'deny', reason: expect.stringContaining('linear.y') }),
    );
  });
});
