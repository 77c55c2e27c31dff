import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';

// The operator's stop holds an arm a trajectory went to before it: a joint trajectory controller would run that
// trajectory to its end. Each topic that carried a JointTrajectory gets one point at the positions measured now, of
// every joint ever named on it; each configured forward position controller gets its array; what was learned holds
// after a restart.

const cleanups = cleanupStack();
const TRAJECTORY = 'trajectory_msgs/msg/JointTrajectory';
const STATE = 'sensor_msgs/msg/JointState';
const dir = tempDir('arm-hold-urdf-');
const URDF_FILE = join(dir.path, 'arm.urdf');
writeFileSync(
  URDF_FILE,
  `<robot name="arm">${['pan', 'lift', 'gripper']
    .map((n) => `<joint name="${n}" type="revolute"><limit lower="-2" upper="2" velocity="1"/></joint>`)
    .join('')}</robot>`,
);

interface Trajectory {
  joint_names: string[];
  points: { positions: Float64Array; time_from_start: { sec: number; nanosec: number } }[];
}

describe("the operator's stop and an arm", () => {
  it('sends each trajectory topic one point at the measured positions of the joints it last named', async () => {
    const { daemon, codec, stop } = await startDaemon({ sim: { enabled: false } }, 'arm-hold-');
    cleanups.push(stop);
    const got: { source: string; message: Trajectory }[] = [];
    daemon.bus.subscribe({
      name: 'test',
      topic: '/arm_controller/joint_trajectory',
      handler: (m) => void got.push({ source: m.source, message: codec.decode<Trajectory>(m.type, m.data) }),
    });
    const states = daemon.bus.advertise('/joint_states', STATE, { source: 'ros' });
    const measure = (names: string[], positions: number[]) =>
      states.publish(
        codec.encode(STATE, {
          header: { stamp: { sec: 0, nanosec: 0 }, frame_id: '' },
          name: names,
          position: Float64Array.from(positions),
          velocity: new Float64Array(0),
          effort: new Float64Array(0),
        }),
      );
    // A long move sent before the stop, as `topic pub` or a bridge would: 10 s to the far pose.
    const arm = daemon.bus.advertise('/arm_controller/joint_trajectory', TRAJECTORY, { source: 'someone' });
    arm.publish(
      codec.encode(TRAJECTORY, {
        header: { stamp: { sec: 0, nanosec: 0 }, frame_id: '' },
        joint_names: ['shoulder', 'elbow'],
        points: [{ positions: Float64Array.from([2, -2]), time_from_start: { sec: 10, nanosec: 0 } }],
      }),
    );
    arm.close();
    // The arm is on its way: the gripper is measured apart, as its driver publishes it.
    measure(['elbow', 'shoulder'], [-0.4, 0.7]);
    measure(['gripper'], [0.1]);
    await waitFor(() => got.length === 1, 'the move');
    const outcome = await daemon.haltAuthority.halt('ada', 'arm swinging');
    expect(outcome.held).toEqual(['/arm_controller/joint_trajectory']);
    expect(outcome.not_held).toBeUndefined();
    await waitFor(() => got.length === 2, 'the hold');
    const { source, message } = got[1]!;
    expect(source).toBe('stop');
    expect(message.joint_names).toEqual(['shoulder', 'elbow']);
    expect(message.points).toHaveLength(1);
    expect(Array.from(message.points[0]!.positions)).toEqual([0.7, -0.4]);
    const t = message.points[0]!.time_from_start;
    expect(t.sec + t.nanosec / 1e9).toBeGreaterThan(0);
  });

  it('with no fresh measured position holds nothing, and the stop says which arm it could not hold', async () => {
    const { daemon, codec, stop } = await startDaemon({ sim: { enabled: false } }, 'arm-hold-');
    cleanups.push(stop);
    let count = 0;
    daemon.bus.subscribe({ name: 'test', topic: '/arm', handler: () => void count++ });
    const arm = daemon.bus.advertise('/arm', TRAJECTORY, { source: 'someone' });
    arm.publish(
      codec.encode(TRAJECTORY, {
        header: { stamp: { sec: 0, nanosec: 0 }, frame_id: '' },
        joint_names: ['shoulder'],
        points: [{ positions: Float64Array.from([2]), time_from_start: { sec: 10, nanosec: 0 } }],
      }),
    );
    await waitFor(() => count === 1, 'the move');
    const outcome = await daemon.haltAuthority.halt('ada');
    expect(outcome.held).toBeUndefined();
    expect(outcome.not_held).toEqual({
      '/arm': 'not held: no position of shoulder measured on /joint_states in the last 200 ms',
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(count).toBe(1);
  });
});

describe("the stop's hold of every arm command topic", () => {
  const measure = (codec: { encode: (t: string, m: object) => Uint8Array }, names: string[], positions: number[]) =>
    codec.encode(STATE, { name: names, position: Float64Array.from(positions) });

  it('holds every joint ever named on a trajectory topic, a configured forward controller, and keeps them across a restart', async () => {
    const config = {
      sim: { enabled: false },
      motion: {
        joints: {
          urdf: URDF_FILE,
          topics: { '/forward/commands': ['pan', 'lift'] },
        },
      },
    };
    const first = await startDaemon(config, 'arm-hold-all-');
    const seen = new Map<string, object[]>();
    const watch = (daemon: typeof first.daemon, topic: string) =>
      daemon.bus.subscribe({
        name: 'test',
        topic,
        handler: (m) => {
          if (m.source === 'stop') seen.set(topic, [...(seen.get(topic) ?? []), first.codec.decode(m.type, m.data)]);
        },
      });
    watch(first.daemon, '/forward/commands');
    watch(first.daemon, '/arm');
    const states = first.daemon.bus.advertise('/joint_states', STATE, { source: 'ros' });
    const arm = first.daemon.bus.advertise('/arm', TRAJECTORY, { source: 'someone' });
    const trajectory = (names: string[]) =>
      first.codec.encode(TRAJECTORY, {
        joint_names: names,
        points: [{ positions: Float64Array.from(names.map(() => 1)), time_from_start: { sec: 10, nanosec: 0 } }],
      });
    // A pan move, then a gripper-only one: the controller goes on with the pan.
    arm.publish(trajectory(['pan']));
    arm.publish(trajectory(['gripper']));
    const armTopics = join(first.daemon.dataDir, 'state', 'arm-topics.json');
    await waitFor(
      () => existsSync(armTopics) && readFileSync(armTopics, 'utf8').includes('gripper'),
      'the learned joints kept',
    );
    states.publish(measure(first.codec, ['pan', 'lift', 'gripper'], [0.3, -0.2, 0.1]));
    await waitFor(() => first.daemon.robot.measured.latest('gripper') !== undefined, 'the measurement');
    const outcome = await first.daemon.haltAuthority.halt('ada');
    expect(outcome.held?.sort()).toEqual(['/arm', '/forward/commands']);
    await waitFor(() => seen.has('/arm') && seen.has('/forward/commands'), 'both holds');
    expect(seen.get('/arm')![0]).toMatchObject({ joint_names: ['pan', 'gripper'] });
    expect(Array.from((seen.get('/forward/commands')![0] as { data: Float64Array }).data)).toEqual([0.3, -0.2]);
    await first.daemon.close();
    cleanups.push(first.stop);

    // After a restart, before any trajectory is sent in this process, the learned topic is held all the same.
    seen.clear();
    const second = await startDaemon({ ...config, data_dir: first.daemon.dataDir }, 'arm-hold-all-');
    cleanups.push(second.stop);
    watch(second.daemon, '/arm');
    second.daemon.bus
      .advertise('/joint_states', STATE, { source: 'ros' })
      .publish(measure(second.codec, ['pan', 'lift', 'gripper'], [0.3, -0.2, 0.1]));
    await waitFor(() => second.daemon.robot.measured.latest('gripper') !== undefined, 'the measurement');
    const again = await second.daemon.haltAuthority.halt('ada');
    expect(again.held?.sort()).toEqual(['/arm', '/forward/commands']);
    await waitFor(() => seen.has('/arm'), 'the hold after the restart');
    expect(seen.get('/arm')![0]).toMatchObject({ joint_names: ['pan', 'gripper'] });
  });
});
