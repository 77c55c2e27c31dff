import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.ts';
import { waitFor, waitForValue } from '../helpers/wait.ts';
import { SO101_JOINTS } from '../peers/arm.ts';
import { exportAct, type ActExport } from '../system1/act-peer.ts';
import {
  commandedPositions,
  distance,
  drift,
  startArmWorld,
  TRAJECTORY,
  TRAJECTORY_TOPIC,
  type ArmWorld,
  type Tick,
  type TracedCommand,
} from './so101-world.ts';

/**
 * LeRobot's ACT (random weights, exported to ONNX) drives the simulated SO-101 through the daemon's control loop for
 * 600 commands, behind motion.joints (the URDF the node serves on /robot_description, max_step): judged by what the
 * simulator took and where its joints were (the node's trace), every commanded position stays inside the URDF's
 * limits (a hold of the measured position aside) and within max_step of a position the arm had; then the operator's
 * stop holds it where it was, and a /joint_states that stops leaves the loop blind, saying why.
 */

// Past test/arm/so101-peer (230) and so101-expert (231), the last Fast DDS takes; latched-doors-so101 has 9.
const DOMAIN = 232;
/**
 * How many commands ACT sends the arm before they are judged: 30 s at RATE_HZ. The arm reaches the limits it presses on
 * in its first seconds (max_step at 20 Hz is 1 rad/s), and the rest is more of the same.
 */
const COMMANDS = 600;
const MAX_STEP = 0.05;
const RATE_HZ = 20;
const MAX_OBSERVATION_AGE_MS = 500;
/** Float slack of a bound the daemon computes from a float32 reading (the board's) and the URDF's decimal text. */
const EPSILON = 1e-6;
/**
 * Added to ACT's actions (rad): its random weights keep the arm near one pose, and this puts that pose past the URDF's
 * limits of shoulder_pan, wrist_flex and the gripper, so the loop presses on them.
 */
const OFFSET = [0.8, 0, 0, 0.6, 0, 1.0];
/** Where the arm starts (rad), away from the zero pose a stop must never command. */
const INITIAL = [1.0, 0.5, -0.5, 1.2, 0.0, 0.8];
/** The hold's bound (rad): the arm comes to rest within this of where it was as the stop came. */
const HOLD_MRAD = 5;

const work = tempDir('act-so101-');
let act: ActExport;
let arm: ArmWorld;

beforeAll(async () => {
  act = await exportAct(join(work.path, 'act'), {
    stateDim: 6,
    actionDim: 6,
    cameras: [{ name: 'front', height: 96, width: 128 }],
    chunk: 20,
    small: true,
  });
  const stats = (feature: string) => ({ mode: 'mean_std', stats: act.stats, feature });
  arm = await startArmWorld({
    domain: DOMAIN,
    ros: {
      node_name: 'edge_act_arm',
      topics: ['/joint_states', '/camera/front/image_raw', '/robot_description'],
      publish: [TRAJECTORY_TOPIC],
    },
    extra: {
      // the built-in sim publishes a robot_description (the maze robot's) on the bus: off, the arm's is the one
      sim: { enabled: false },
      motion: { joints: { robot_description: '/robot_description', max_step: MAX_STEP } },
      policies: {
        act: {
          model: act.model,
          inputs: {
            'observation.state': {
              sources: [{ topic: '/joint_states', joints: SO101_JOINTS }],
              normalize: stats('observation.state'),
            },
            'observation.images.front': {
              image: { topic: '/camera/front/image_raw' },
              normalize: stats('observation.images.front'),
            },
          },
          outputs: {
            action: {
              unnormalize: stats('action'),
              command: { topic: TRAJECTORY_TOPIC, type: TRAJECTORY, joint_names: SO101_JOINTS, offset: OFFSET },
            },
          },
        },
      },
      control: {
        loops: {
          act: {
            policy: 'act',
            rate_hz: RATE_HZ,
            max_observation_age_ms: MAX_OBSERVATION_AGE_MS,
            chunking: { inference: 'inline', threshold: 0, n_action_steps: 10 },
          },
        },
      },
    },
    node: { initial: INITIAL },
  });
}, 300_000);

afterAll(async () => {
  await arm?.close();
  work.cleanup();
});

/**
 * A command's step from where the arm was, judged without a clock: for its first point, from the latest position the
 * simulator had before it took the command that is within max_step of it (the daemon measured some position of the
 * arm), and how long before that was (the lag of the daemon's view of the arm); else the least over every earlier
 * position. A later point's step is from the point before.
 */
function stepOf(command: TracedCommand, ticks: Tick[]): { step: number; lagS: number } {
  const points = commandedPositions(command);
  const first = points[0]!;
  const from = (t: Tick) =>
    distance(
      first.positions,
      first.joints.map((j) => t.qpos[j]!),
    );
  let step = Infinity;
  let lagS = Infinity;
  for (let i = ticks.length - 1; i >= 0; i--) {
    const tick = ticks[i]!;
    if (tick.t > command.t) continue;
    const d = from(tick);
    step = Math.min(step, d);
    if (d <= MAX_STEP + EPSILON) {
      lagS = command.t - tick.t;
      break;
    }
  }
  for (let k = 1; k < points.length; k++)
    step = Math.max(step, distance(points[k]!.positions, points[k - 1]!.positions));
  return { step, lagS };
}

const ALL = SO101_JOINTS.map((_, j) => j);

/** Whether a command is a hold: one point at a position the simulator had (as float32 rounds it) before it came. */
function isHold(command: TracedCommand, ticks: Tick[]): boolean {
  const points = command.points ?? [];
  return points.length === 1 && ticks.some((t) => t.t <= command.t && distance(points[0]!.positions, t.qpos) < EPSILON);
}

/** The p-th of `values` by nearest rank. */
const percentile = (values: number[], p: number) =>
  [...values].sort((x, y) => x - y)[Math.max(0, Math.ceil((p / 100) * values.length) - 1)]!;

/** Where a position lies past the URDF's limits (rad; 0 inside). */
function pastLimits(limits: [number, number][], joints: number[], positions: number[]): number {
  return Math.max(
    0,
    ...positions.map((p, k) => {
      const [lower, upper] = limits[joints[k]!]!;
      return Math.max(lower - p, p - upper);
    }),
  );
}

describe('ACT driving the simulated SO-101 behind motion.joints', () => {
  it(`keeps every command inside the URDF's limits and within max_step of the measured arm, for ${COMMANDS} commands`, async () => {
    const from = arm.mark();
    await waitFor(() => arm.commands(from).length > 0, 'the first command of the loop at the arm', 60_000);
    const start = arm.commands(from)[0]!.t;
    const sent = () => arm.commands(from).filter((c) => c.topic === TRAJECTORY_TOPIC).length;
    await waitFor(() => sent() >= COMMANDS, `${COMMANDS} commands at the arm`, 180_000);
    // The commands first: each is judged by the ticks before it, all of which the trace holds by then.
    const commands = arm.commands(from).filter((c) => c.topic === TRAJECTORY_TOPIC);
    const ticks = arm.ticks(from);
    const framed = commands.map((c) => stepOf(c, ticks));
    const steps = framed.map((f) => f.step);
    const lags = framed.map((f) => f.lagS);
    const past = commands.map((c) =>
      Math.max(...commandedPositions(c).map((p) => pastLimits(arm.limits, p.joints, p.positions))),
    );
    // A hold (a stale camera frame's safe action) commands the measured position, where the arm is: MuJoCo's soft
    // joint limits let a joint pressed on its limit pass it by a fraction of a mrad, and the hold follows it there.
    const holds = commands.map((c) => isHold(c, ticks));
    const moved = drift(ticks, ticks[0]!.qpos);
    // The policy pressed on the limits: commands with a joint at one.
    const atLimit = commands.filter((c) =>
      commandedPositions(c).some((p) =>
        p.positions.some((v, k) => arm.limits[p.joints[k]!]!.some((bound) => Math.abs(v - bound) < EPSILON)),
      ),
    ).length;
    const status = await arm.world.daemon.status();
    const loop = (status.components.control?.details as Record<string, Record<string, unknown>>).act!;
    console.log(
      JSON.stringify({
        run_s: ticks.at(-1)!.t - start,
        commands: commands.length,
        holds: holds.filter(Boolean).length,
        largest_step_rad: Math.max(...steps),
        view_lag_s: { p50: percentile(lags, 50), p99: percentile(lags, 99), max: Math.max(...lags) },
        commands_at_a_limit: atLimit,
        largest_past_limit_rad: Math.max(0, ...past.filter((_, i) => !holds[i])),
        largest_hold_past_limit_rad: Math.max(0, ...past.filter((_, i) => holds[i])),
        largest_target_past_limit_rad: Math.max(...ticks.map((t) => pastLimits(arm.limits, ALL, t.target))),
        farthest_from_start_rad: moved,
        clamped_commands: loop.clamped_commands,
      }),
    );
    // It drove the arm, pressing on the limits: the joints went somewhere.
    expect(moved).toBeGreaterThan(MAX_STEP);
    expect(atLimit).toBeGreaterThan(0);
    for (const [i, step] of steps.entries())
      expect(step, JSON.stringify(commands[i])).toBeLessThanOrEqual(MAX_STEP + EPSILON);
    for (const [i, p] of past.entries())
      if (!holds[i]) expect(p, JSON.stringify(commands[i])).toBeLessThanOrEqual(EPSILON);
  }, 300_000);

  it(`holds the arm within ${HOLD_MRAD} mrad of where it was measured when the operator's stop comes mid-motion`, async () => {
    // the arm in motion: a joint moving at 0.1 rad/s or more between two ticks
    await waitFor(
      () => {
        const [a, b] = arm.ticks().slice(-2);
        return a !== undefined && b !== undefined && distance(a.qpos, b.qpos) / (b.t - a.t) > 0.1;
      },
      'the arm moving under the loop',
      60_000,
    );
    const from = arm.mark();
    const asked = Date.now() / 1000;
    const stop = await arm.world.daemon.cli(['stop', '--reason', 'hold mid-motion']);
    expect(stop.code, stop.stderr).toBe(0);
    // The hold: what the loop sends again and again once latched (measured once, as float32).
    const hold = await waitForValue(() => {
      const last = arm.commands(from).at(-1)?.points?.[0]?.positions;
      const repeated = last && arm.commands(from).filter((c) => isAt(c, last)).length >= RATE_HZ;
      return repeated && last;
    }, 'the loop repeating its hold');
    const holdAt = arm.commands(from).find((c) => isAt(c, hold))!.t;
    // Three seconds of the hold, settled after half a second: the simulator's own time (a loaded machine slows it
    // rather than have it catch up).
    const holdSim = arm
      .ticks(from)
      .filter((t) => t.t <= holdAt)
      .at(-1)!.sim;
    await waitFor(() => (arm.ticks().at(-1)?.sim ?? 0) > holdSim + 3, 'three seconds of the hold', 60_000);
    const after = arm.ticks(from).filter((t) => t.t > holdAt);
    const settled = after.filter((t) => t.sim > holdSim + 0.5);
    expect(settled.length).toBeGreaterThan(0);
    const measured = arm.ticks(from).find((t) => distance(t.qpos, hold) < EPSILON);
    const [a, b] = arm
      .ticks(from)
      .filter((t) => t.t <= holdAt)
      .slice(-2);
    console.log(
      JSON.stringify({
        hold_drift_mrad: drift(settled, hold) * 1000,
        largest_excursion_mrad: drift(after, hold) * 1000,
        speed_at_stop_rad_s: distance(a!.qpos, b!.qpos) / (b!.t - a!.t),
        measured_to_taken_s: measured && holdAt - measured.t,
      }),
    );
    // The hold is a position the simulator had after the stop was asked for: where the arm was, never a fixed pose.
    expect(measured?.t).toBeGreaterThanOrEqual(asked);
    expect(distance(hold, [0, 0, 0, 0, 0, 0])).toBeGreaterThan(0.1);
    // From the hold on nothing else reached the arm. No jump: it coasts on toward its last target (one step past where
    // it was measured before) and comes back, never two steps off, where a jump to a fixed pose would be a radian.
    for (const c of arm.commands(from).filter((c) => c.t >= holdAt))
      expect(isAt(c, hold), JSON.stringify(c)).toBe(true);
    expect(drift(after, hold)).toBeLessThan(2 * MAX_STEP);
    expect(drift(settled, hold)).toBeLessThan(HOLD_MRAD / 1000);
  }, 120_000);

  it('goes blind when /joint_states stops, naming the topic in status and log, and drives again once it is back', async () => {
    const { daemon } = arm.world;
    expect((await daemon.cli(['stop', '--release'])).code).toBe(0);
    expect((await daemon.cli(['control', 'start', 'act'])).code).toBe(0);
    const driving = arm.mark();
    await waitFor(() => arm.commands(driving).length >= RATE_HZ, 'the loop driving again', 60_000);
    // The node frozen (SIGSTOP): no /joint_states, no camera, nothing taken, until SIGCONT.
    const frozenAt = Date.now() / 1000;
    const logsBefore = daemon.process.logs.length;
    arm.arm.child.kill('SIGSTOP');
    let blind: string | undefined;
    try {
      blind = await waitForValue(
        async () => {
          const loops = (await daemon.status()).components.control?.details as Record<string, { blind?: string }>;
          return loops.act?.blind?.includes('/joint_states') && loops.act.blind;
        },
        'the loop blind in status, for want of /joint_states',
        60_000,
      );
    } finally {
      arm.arm.child.kill('SIGCONT');
    }
    // The log line comes on the daemon's stderr, apart from the status the wait above read.
    const said = await waitForValue(
      () =>
        daemon.process.logs
          .slice(logsBefore)
          .find((l) => l.loop === 'act' && l.topic === '/joint_states' && typeof l.msg === 'string'),
      'a log line naming /joint_states',
    );
    console.log(JSON.stringify({ blind, log: said.msg }));
    // Back: the loop drives again (what it sent as the node froze is delivered as it wakes: only later ones count).
    const back = arm.mark();
    await waitFor(() => arm.commands(back).some((c) => c.t > frozenAt + 1), 'commands again', 60_000);
  }, 180_000);
});

/** Whether a traced trajectory is one point at `positions` (within float32's rounding of a measured position). */
function isAt(command: TracedCommand, positions: number[]): boolean {
  const points = command.points ?? [];
  return points.length === 1 && distance(points[0]!.positions, positions) < EPSILON;
}
