import { describe, expect, it } from 'vitest';
import { cleanupStack } from '../helpers/cleanups.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';

// The operator's stop holds an arm a trajectory went to before it: a joint trajectory controller would run that
// trajectory to its end. Each topic that carried a JointTrajectory gets one point at the positions measured now.

const cleanups = cleanupStack();
const TRAJECTORY = 'trajectory_msgs/msg/JointTrajectory';
const STATE = 'sensor_msgs/msg/JointState';

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
    expect(outcome.zeroed).toContain('/arm_controller/joint_trajectory');
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
    expect(outcome.zeroed).not.toContain('/arm');
    await new Promise((resolve) => setImmediate(resolve));
    expect(count).toBe(1);
  });
});
