import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.ts';
import { OnnxGraphBuilder } from '../../sim/scan-policy/onnx-builder.ts';
import type { Bus } from '../../daemon/bus/bus.ts';
import type { MessageCodec } from '../../daemon/bus/codec.ts';
import { ControlComponent } from '../../daemon/system1/control/control-component.ts';
import type { ComponentContext } from '../../daemon/lifecycle/component.ts';
import { tempDir } from '../helpers/cli.ts';
import { componentContext } from '../helpers/component-context.ts';
import { writeLinearModel } from './models.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const ARRAY = 'std_msgs/msg/Float64MultiArray';
const TWIST = 'geometry_msgs/msg/Twist';
type Twist = { linear: { x: number; y: number; z: number }; angular: { x: number; y: number; z: number } };

/** actions = sqrt(obs): a negative observation makes a NaN action, as a diverged policy would. */
function writeSqrtModel(dir: string): string {
  const g = new OnnxGraphBuilder();
  const x = g.input('obs', [1, 2]);
  g.node('Sqrt', [x], {}, 'actions');
  g.output('actions', [1, 2]);
  const path = join(dir, 'sqrt.onnx');
  writeFileSync(path, g.toBytes());
  return path;
}

function context(configText: string): { ctx: ComponentContext; bus: Bus; codec: MessageCodec } {
  const ctx = componentContext(configText, { dataDir: tmp.path });
  return { ctx, bus: ctx.bus, codec: ctx.codec };
}

const policy = (model: string, topic = '/cmd_vel') => ({
  model,
  serve: false,
  inputs: { obs: { sources: [{ topic: '/obs', field: 'data' }] } },
  outputs: { actions: { command: { topic, type: TWIST, fields: ['linear.x', 'angular.z'] } } },
});

describe('the safety frame on control loop commands', () => {
  it('never publishes a non-finite or too-fast Twist on the velocity topic, and counts what it replaced and clamped', async () => {
    const config = {
      motion: { velocity: { topic: '/cmd_vel', max_linear_x: 0.5, max_angular_z: 1 } },
      // Two loops may not command one topic: the NaN one has its own, watched as well.
      policies: {
        nan: policy(writeSqrtModel(tmp.path), '/cmd_vel_nan'),
        fast: policy(writeLinearModel(tmp.path, 'identity', [1, 0, 0, 1], [0, 0])),
      },
      control: {
        loops: {
          nan: { policy: 'nan', rate_hz: 50, max_observation_age_ms: 5000 },
          fast: { policy: 'fast', rate_hz: 50, max_observation_age_ms: 5000 },
        },
      },
    };
    const { ctx, bus, codec } = context(JSON.stringify(config));
    const published: Twist[] = [];
    for (const topic of ['/cmd_vel', '/cmd_vel_nan'])
      bus.subscribe({
        name: `test${topic}`,
        topic,
        handler: (m) => void published.push(codec.decode<Twist>(m.type, m.data)),
      });
    const control = new ControlComponent(ctx);
    const obs = bus.advertise('/obs', ARRAY, { source: 'test' });
    // sqrt([-1, 4]) = [NaN, 2]; the identity policy asks for linear.x -1 m/s and angular.z 4 rad/s.
    const send = () =>
      obs.publish(codec.encode(ARRAY, { layout: { dim: [], data_offset: 0 }, data: Float64Array.from([-1, 4]) }));
    await control.start();
    const timer = setInterval(send, 10);
    const byName = (name: string) => control.loopStats().find((s) => s.name === name)!;
    await waitFor(() => byName('nan').nonFinite >= 3 && byName('fast').clamped >= 3, 'non-finite and clamped commands');
    const health = control.health();
    const metrics = control.metrics();
    const nan = byName('nan');
    const fast = byName('fast');
    clearInterval(timer);
    await control.close();
    bus.close();

    expect(published.length).toBeGreaterThan(0);
    for (const t of published) {
      for (const v of [t.linear.x, t.linear.y, t.linear.z, t.angular.x, t.angular.y, t.angular.z])
        expect(Number.isFinite(v)).toBe(true);
      expect(Math.abs(t.linear.x)).toBeLessThanOrEqual(0.5);
      expect(Math.abs(t.angular.z)).toBeLessThanOrEqual(1);
    }
    // The fast policy's command went out, at the limits; the NaN one as the safe action (zeros).
    expect(published).toContainEqual({ linear: { x: -0.5, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 1 } });
    expect(nan.clamped).toBe(0);
    expect(fast.nonFinite).toBe(0);

    const sample = (family: string, loop: string) =>
      metrics.find((f) => f.name === family)!.samples.find((s) => s.labels?.loop === loop)!.value;
    expect(sample('auraison_control_loop_non_finite_actions_total', 'nan')).toBeGreaterThanOrEqual(3);
    expect(sample('auraison_control_loop_clamped_commands_total', 'fast')).toBeGreaterThanOrEqual(3);
    const details = health.details as Record<string, { non_finite_actions: number; clamped_commands: number }>;
    expect(details.nan!.non_finite_actions).toBeGreaterThanOrEqual(3);
    expect(details.fast!.clamped_commands).toBeGreaterThanOrEqual(3);
  });

  it("clamps with motion.velocity's defaults when the config says nothing", async () => {
    const config = {
      policies: { fast: policy(writeLinearModel(tmp.path, 'identity2', [1, 0, 0, 1], [0, 0])) },
      control: { loops: { fast: { policy: 'fast', rate_hz: 50, max_observation_age_ms: 5000 } } },
    };
    const { ctx, bus, codec } = context(JSON.stringify(config));
    const published: Twist[] = [];
    bus.subscribe({
      name: 'test',
      topic: '/cmd_vel',
      handler: (m) => void published.push(codec.decode<Twist>(m.type, m.data)),
    });
    const control = new ControlComponent(ctx);
    const obs = bus.advertise('/obs', ARRAY, { source: 'test' });
    await control.start();
    const timer = setInterval(
      () => obs.publish(codec.encode(ARRAY, { layout: { dim: [], data_offset: 0 }, data: Float64Array.from([3, -9]) })),
      10,
    );
    const limits = ctx.config.motion.velocity;
    const atLimits = {
      linear: { x: limits.max_linear_x, y: 0, z: 0 },
      angular: { x: 0, y: 0, z: -limits.max_angular_z },
    };
    // Waited for on /cmd_vel, not on the loop's counter: the thread counts a clamp before its command reaches
    // the main thread, and a command that arrives after stop() is rightly not published.
    await waitFor(
      () => published.some((t) => t.linear.x === atLimits.linear.x && t.angular.z === atLimits.angular.z),
      'a clamped command on /cmd_vel',
    );
    const clamped = control.loopStats()[0]!.clamped;
    clearInterval(timer);
    await control.close();
    bus.close();
    expect(clamped).toBeGreaterThanOrEqual(1);
    expect(published).toContainEqual(atLimits);
    for (const t of published) expect(Math.abs(t.linear.x)).toBeLessThanOrEqual(limits.max_linear_x);
  });
});
