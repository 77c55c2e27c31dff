import pino from 'pino';
import { Value } from 'typebox/value';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ControlLoop } from '../../adapters/lerobot/control/control-loop.ts';
import { Bus } from '../../daemon/bus/bus.ts';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { LoopConfig, type LoopSettings } from '../../daemon/config/sections/system1.ts';
import { tempDir } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { policySettings, writeLinearModel } from './models.ts';

// A joint position command's safe command holds the arm where it was measured (by joint name, off /joint_states) when
// the hold began: on the operator's stop, a stale observation and the loop's end; never the zero pose.

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

const TRAJECTORY = 'trajectory_msgs/msg/JointTrajectory';
const ARRAY = 'std_msgs/msg/Float64MultiArray';
const JOINT_STATE = 'sensor_msgs/msg/JointState';
const codec = new MessageCodec(new DefinitionsRegistry());

interface Trajectory {
  joint_names: string[];
  points: { positions: Float64Array; time_from_start: { sec: number; nanosec: number } }[];
}

/**
 * A loop whose policy (actions = obs + 0.3) commands joints `a` and `b` on `/arm` as `type`, its observation `/obs`;
 * `latched` decides the operator's stop. `measured(a, b)` publishes /joint_states with the joints in the other order.
 */
function arm(type: string, loop: Partial<LoopSettings>, command: Record<string, unknown> = {}) {
  const bus = new Bus();
  const definitions = new DefinitionsRegistry();
  const model = writeLinearModel(tmp.path, 'arm', [1, 0, 0, 1], [0.3, 0.3]);
  const policy = policySettings({
    model,
    inputs: { obs: { sources: [{ topic: '/obs', field: 'data' }] } },
    outputs: { actions: { command: { topic: '/arm', type, joint_names: ['a', 'b'], ...command } } },
  });
  let latched = false;
  const sent: number[][] = [];
  bus.subscribe({
    name: 'test',
    topic: '/arm',
    queue: { depth: 10_000 },
    handler: (m) => {
      if (type === ARRAY) sent.push(Array.from(codec.decode<{ data: Float64Array }>(m.type, m.data).data));
      else {
        const t = codec.decode<Trajectory>(m.type, m.data);
        sent.push(t.points.length === 0 ? [] : Array.from(t.points[0]!.positions));
      }
    },
  });
  const control = new ControlLoop({
    name: 'arm',
    loop: Value.Default(LoopConfig, {
      policy: 'p',
      rate_hz: 100,
      max_observation_age_ms: 300,
      ...loop,
    }) as LoopSettings,
    policyName: 'p',
    policy,
    bus,
    definitions,
    log: pino({ level: 'silent' }),
    refusal: () => (latched ? 'stopped by the test' : undefined),
  });
  const obs = bus.advertise('/obs', ARRAY, { source: 'test' });
  const states = bus.advertise('/joint_states', JOINT_STATE, { source: 'test' });
  const timers: NodeJS.Timeout[] = [];
  const every = (f: () => void) => timers.push(setInterval(f, 10));
  let arm = [0, 0];
  every(() =>
    states.publish(
      codec.encode(JOINT_STATE, {
        header: { stamp: { sec: 0, nanosec: 0 }, frame_id: '' },
        name: ['b', 'a'],
        position: Float64Array.from([arm[1]!, arm[0]!]),
        velocity: new Float64Array(0),
        effort: new Float64Array(0),
      }),
    ),
  );
  let observing = true;
  every(
    () =>
      observing &&
      obs.publish(codec.encode(ARRAY, { layout: { dim: [], data_offset: 0 }, data: Float64Array.from([1, 2]) })),
  );
  closers.push(async () => {
    for (const t of timers) clearInterval(t);
    await control.stop();
    bus.close();
  });
  /** Waits for `n` more commands and returns them. */
  const next = async (n: number): Promise<number[][]> => {
    const from = sent.length;
    await waitFor(() => sent.length >= from + n, `${n} more commands`, 20_000);
    return sent.slice(from, from + n);
  };
  return {
    control,
    sent,
    next,
    measured: (a: number, b: number) => void (arm = [a, b]),
    latch: (on: boolean) => void (latched = on),
    blind: () => void (observing = false),
  };
}

const close = (got: number[], want: number[]) => {
  expect(got).toHaveLength(want.length);
  got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
};

describe("a joint position command's safe command holds the measured position", () => {
  it.each([TRAJECTORY, ARRAY])(
    '%s: the stop holds where the arm was, by joint name, and stays there while it sags',
    async (type) => {
      const a = arm(type, {});
      a.measured(1.0, 0.5);
      await a.control.start();
      await waitFor(() => a.sent.some((s) => s.length === 2 && Math.abs(s[0]! - 1.3) < 1e-6), 'the policy to drive');
      a.latch(true);
      // The first commands after the latch may be the policy's, posted before the loop heard of it.
      await a.next(5);
      const held = await a.next(10);
      for (const s of held) close(s, [1.0, 0.5]);
      // The arm sags under the hold: the hold brings it back, it does not follow it down.
      a.measured(0.9, 0.4);
      await a.next(5);
      for (const s of await a.next(10)) close(s, [1.0, 0.5]);
      // Released, the policy drives; the next hold measures again.
      a.latch(false);
      await waitFor(() => a.sent.slice(-1).some((s) => Math.abs(s[0]! - 1.3) < 1e-6), 'the policy again');
      a.measured(0.2, -0.7);
      await a.next(3);
      a.latch(true);
      await a.next(5);
      for (const s of await a.next(10)) close(s, [0.2, -0.7]);
    },
  );

  it('holds exactly the measured position through the command scale and offset', async () => {
    const a = arm(TRAJECTORY, {}, { scale: 2, offset: [0.1, -0.1] });
    a.measured(0.7, -0.3);
    await a.control.start();
    a.latch(true);
    await a.next(5);
    for (const s of await a.next(10)) close(s, [0.7, -0.3]);
  });

  it('holds on a stale observation, and on the way out when the loop ends', async () => {
    const a = arm(ARRAY, {});
    a.measured(0.25, 0.75);
    await a.control.start();
    await waitFor(() => a.sent.some((s) => Math.abs(s[0]! - 1.3) < 1e-6), 'the policy to drive');
    a.blind();
    await waitFor(() => a.control.stats().staleTicks > 5, 'the observation to go stale');
    for (const s of await a.next(5)) close(s, [0.25, 0.75]);
    const count = a.sent.length;
    await a.control.stop();
    expect(a.sent.length).toBeGreaterThan(count);
    close(a.sent.at(-1)!, [0.25, 0.75]);
  });

  it.each([TRAJECTORY, ARRAY])(
    '%s: with no measured position sends nothing while it holds (the controller keeps its last target), never zeros',
    async (type) => {
      const a = arm(type, {}, { joint_states: '/nobody/joint_states' });
      await a.control.start();
      await waitFor(() => a.sent.some((s) => Math.abs(s[0]! - 1.3) < 1e-6), 'the policy to drive');
      a.latch(true);
      await waitFor(() => a.control.stats().held > 0, 'the loop to hear of the stop');
      const count = a.sent.length;
      await waitFor(() => a.control.stats().held > 30, 'thirty held ticks');
      expect(a.sent.length).toBe(count);
    },
  );

  it('a safe_action given on purpose is sent as it is', async () => {
    const a = arm(TRAJECTORY, { safe_action: [0.1, 0.2] });
    a.measured(1.0, 0.5);
    await a.control.start();
    a.latch(true);
    await a.next(5);
    for (const s of await a.next(10)) close(s, [0.1, 0.2]);
  });

  it('a Float64MultiArray with no joint_names (a velocity controller) stops with zeros', async () => {
    const a = arm(ARRAY, {}, { joint_names: [] });
    a.measured(1.0, 0.5);
    await a.control.start();
    a.latch(true);
    await a.next(5);
    for (const s of await a.next(10)) close(s, [0, 0]);
  });
});
