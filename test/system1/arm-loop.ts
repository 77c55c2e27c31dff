import pino from 'pino';
import { Value } from 'typebox/value';
import { afterEach } from 'vitest';
import { ControlLoop, type ControlLoopOptions } from '../../daemon/system1/control/control-loop.ts';
import { Bus } from '../../daemon/bus/bus.ts';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { LoopConfig, type LoopSettings } from '../../daemon/config/sections/system1.ts';
import { tempDir } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { policySettings, writeLinearModel } from './models.ts';

export const TRAJECTORY = 'trajectory_msgs/msg/JointTrajectory';
export const ARRAY = 'std_msgs/msg/Float64MultiArray';
const JOINT_STATE = 'sensor_msgs/msg/JointState';
const codec = new MessageCodec(new DefinitionsRegistry());

interface Trajectory {
  joint_names: string[];
  points: { positions: Float64Array; time_from_start: { sec: number; nanosec: number } }[];
}

/** A command as it reached the bus: its first point's positions (or the array's data), and its time_from_start. */
export interface Sent {
  positions: number[];
  timeS: number;
}

/**
 * A real ControlLoop on its own bus, its policy (actions = obs + `bias`, obs [1, 2] on /obs) commanding joints `a`
 * and `b` on `/arm` as `type`; `latch` decides the operator's stop; `measured(a, b)` publishes /joint_states with the
 * joints in the other order, every 10 ms. `sent` holds every command that reached the bus.
 */
export type ArmLoop = ReturnType<typeof armLoopOf>;

/**
 * The test file's armLoop: each loop is stopped, its bus closed and its model's folder removed after its test. Called
 * at a file's top level (the shared test project imports this module once for many files: its hooks are each file's).
 */
type ArmLoopArgs = Parameters<typeof armLoopOf> extends [unknown, ...infer Rest] ? Rest : never;

export function armLoops(): (...args: ArmLoopArgs) => ArmLoop {
  const closers: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });
  return (...args) => armLoopOf(closers, ...args);
}

function armLoopOf(
  closers: (() => Promise<void> | void)[],
  type: string,
  loop: Partial<LoopSettings>,
  command: Record<string, unknown> = {},
  options: Partial<ControlLoopOptions> & { bias?: [number, number] } = {},
) {
  const { bias = [0.3, 0.3], ...loopOptions } = options;
  const bus = new Bus();
  const tmp = tempDir('arm-loop-');
  closers.push(() => tmp.cleanup());
  const model = writeLinearModel(tmp.path, `arm-${bias.join('_')}`, [1, 0, 0, 1], bias);
  const policy = policySettings({
    model,
    inputs: { obs: { sources: [{ topic: '/obs', field: 'data' }] } },
    outputs: { actions: { command: { topic: '/arm', type, joint_names: ['a', 'b'], ...command } } },
  });
  let latched = false;
  const sent: Sent[] = [];
  bus.subscribe({
    name: 'test',
    topic: '/arm',
    queue: { depth: 10_000 },
    handler: (m) => {
      if (type === ARRAY)
        sent.push({ positions: Array.from(codec.decode<{ data: Float64Array }>(m.type, m.data).data), timeS: 0 });
      else {
        const { points } = codec.decode<Trajectory>(m.type, m.data);
        const t = points[0]?.time_from_start;
        sent.push({ positions: Array.from(points[0]?.positions ?? []), timeS: t ? t.sec + t.nanosec / 1e9 : 0 });
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
    definitions: new DefinitionsRegistry(),
    log: pino({ level: 'silent' }),
    refusal: () => (latched ? 'stopped by the test' : undefined),
    ...loopOptions,
  });
  const obs = bus.advertise('/obs', ARRAY, { source: 'test' });
  const states = bus.advertise('/joint_states', JOINT_STATE, { source: 'ros' });
  const timers: NodeJS.Timeout[] = [];
  const every = (f: () => void) => timers.push(setInterval(f, 10));
  let arm: number[] | undefined;
  every(
    () =>
      arm &&
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
    await control.close();
    bus.close();
  });
  /** Waits for `n` more commands and returns them. */
  const next = async (n: number): Promise<Sent[]> => {
    const from = sent.length;
    await waitFor(() => sent.length >= from + n, `${n} more commands`, 20_000);
    return sent.slice(from, from + n);
  };
  return {
    control,
    sent,
    /** The positions of every command that reached the bus. */
    positions: () => sent.map((s) => s.positions),
    next: async (n: number) => (await next(n)).map((s) => s.positions),
    nextSent: next,
    /**
     * Waits for the first command within 1e-5 of `want` (and of `timeS`, a trajectory's time from start): what the loop
     * sends once a change (a measured position, the latch) reached its thread, however many ticks that takes.
     */
    reaches: async (want: number[], timeS?: number) => {
      const near = (s: Sent) =>
        want.every((w, i) => Math.abs((s.positions[i] ?? NaN) - w) < 1e-5) &&
        (timeS === undefined || Math.abs(s.timeS - timeS) < 1e-5);
      let from = sent.length;
      await waitFor(
        () => {
          if (sent.slice(from).some(near)) return true;
          from = sent.length;
          return false;
        },
        `a command at ${want.join(', ')}`,
        20_000,
      );
    },
    measured: (a: number, b: number) => void (arm = [a, b]),
    /**
     * Waits until the loop has taken a /joint_states message published after this call onto its board: what it was
     * told to measure last (measured()) is what its thread reads from now on.
     */
    taken: async () => {
      const from = control.stats().measuredTaken;
      await waitFor(() => control.stats().measuredTaken > from, 'the loop to take the measured joints', 20_000);
    },
    latch: (on: boolean) => void (latched = on),
    blind: () => void (observing = false),
  };
}
