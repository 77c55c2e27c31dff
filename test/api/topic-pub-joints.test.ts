// `auraison-edge topic pub` of a JointTrajectory to a whole daemon with motion.joints (an arm's URDF, max_step 0.2
// rad): the Foxglove client's publish passes the same policy chain as the agent's, so what reaches the bus is held
// to the URDF's limits and within a step of the measured /joint_states, and a joint the robot does not have is
// refused by name. The arm's positions are published on the daemon's bus, as a driver's would be.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageCodec } from '../../daemon/bus/codec.ts';
import type { Daemon } from '../../daemon/daemon.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { startTopicDaemon } from './topic-daemon.ts';

const ARM = ['shoulder_pan', 'shoulder_lift', 'elbow_flex', 'wrist_flex', 'wrist_roll', 'gripper'];
const URDF = `<robot name="arm">${ARM.map(
  (name) => `<joint name="${name}" type="revolute"><limit lower="-1.5" upper="1.5" velocity="2"/></joint>`,
).join('')}</robot>`;
const AT = [1.0, 0.5, -0.5, 1.2, 0.0, 0.8];
const TOPIC = '/arm_controller/joint_trajectory';
const TRAJECTORY = 'trajectory_msgs/msg/JointTrajectory';
const JOINT_STATE = 'sensor_msgs/msg/JointState';

interface Trajectory {
  joint_names: string[];
  points: { positions: Float64Array; time_from_start: { sec: number; nanosec: number } }[];
}

let daemon: Daemon;
let codec: MessageCodec;
let stop: () => Promise<void>;
let dir: string;
let config: string;
let states: ReturnType<typeof setInterval> | undefined;
const urdfDir = tempDir('topic-pub-joints-urdf-');

beforeAll(async () => {
  writeFileSync(join(urdfDir.path, 'arm.urdf'), URDF);
  ({ daemon, codec, stop, dir, config } = await startTopicDaemon(
    {
      foxglove: { port: 0, client_publish: { enabled: true, topics: [TOPIC] } },
      motion: { joints: { urdf: join(urdfDir.path, 'arm.urdf'), max_step: 0.2 } },
    },
    'topic-pub-joints-',
  ));
  // The arm where it is, at 20 Hz, as its driver would say.
  const publisher = daemon.bus.advertise('/joint_states', JOINT_STATE, { source: 'ros' });
  let sent = 0;
  const measure = () => void (publisher.publish(codec.encode(JOINT_STATE, { name: ARM, position: AT })), sent++);
  states = setInterval(measure, 50);
  // Measured before the first command: one sent at once could beat the daemon's subscription to it.
  await waitFor(() => sent >= 3, 'three joint states');
}, 60_000);
afterAll(async () => {
  clearInterval(states);
  await stop?.();
  urdfDir.cleanup();
});

const pub = (fields: string) =>
  runMain(['topic', 'pub', TOPIC, TRAJECTORY, fields, '-1', '--config', config], { cwd: dir });

function trajectories(): Trajectory[] {
  const seen: Trajectory[] = [];
  daemon.bus.subscribe({
    name: 'test-trajectories',
    topic: TOPIC,
    handler: (m) => void seen.push(codec.decode<Trajectory>(m.type, m.data)),
  });
  return seen;
}

describe('auraison-edge topic pub of a JointTrajectory on a daemon with motion.joints', () => {
  it('reaches the bus within the limits, a step from where the arm is, with the time the velocity needs', async () => {
    const seen = trajectories();
    const r = await pub(`{joint_names: [${ARM.join(', ')}], points: [{positions: [3, -3, 3, -3, 3, -3]}]}`);
    expect(r.code, r.stderr).toBe(0);
    await waitFor(() => seen.length === 1, 'the trajectory on the bus');
    const positions = [...seen[0]!.points[0]!.positions];
    // Each joint 0.2 rad from where it is, towards where it was sent; none past the URDF's 1.5.
    expect(positions.map((p) => +p.toFixed(6))).toEqual([1.2, 0.3, -0.3, 1.0, 0.2, 0.6]);
    // 0.2 rad at 2 rad/s: 0.1 s, not the 0 sent.
    expect(seen[0]!.points[0]!.time_from_start).toEqual({ sec: 0, nanosec: 100_000_000 });
    expect(r.stderr).toContain("changed by the daemon's policy");
  });

  it('is refused naming a joint the robot does not have (exit 1), and nothing reaches the bus', async () => {
    const seen = trajectories();
    const names = ARM.map((n) => (n === 'elbow_flex' ? 'elbow_flx' : n)).join(', ');
    const r = await pub(`{joint_names: [${names}], points: [{positions: [1, 0.5, -0.5, 1.2, 0, 0.8]}]}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the robot has no joint "elbow_flx" (did you mean "elbow_flex"?)');
    expect(r.stderr).toContain('(rule joints.command)');
    expect(seen).toEqual([]);
  });
});
