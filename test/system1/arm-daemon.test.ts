import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupStack } from '../helpers/cleanups.ts';
import { runCli, tempDir } from '../helpers/cli.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { writeLinearModel } from './models.ts';

// motion.joints in a running daemon's control loops (the control component reads the URDF), and `config check`
// refusing a loop whose command names joints the URDF does not have, or a forward controller's joints out of order.

const tmp = tempDir('arm-daemon-');
afterAll(() => tmp.cleanup());
const cleanups = cleanupStack();

// Two revolute joints, a fixed one, as a robot's URDF writes them.
const URDF = `<?xml version="1.0"?>
<robot name="two_link">
  <link name="base"/><link name="l1"/><link name="l2"/><link name="tool"/>
  <joint name="a" type="revolute"><parent link="base"/><child link="l1"/>
    <limit lower="-1" upper="1.5" velocity="1" effort="3"/></joint>
  <joint name="b" type="revolute"><parent link="l1"/><child link="l2"/>
    <limit lower="-2" upper="2" velocity="2" effort="3"/></joint>
  <joint name="tool_mount" type="fixed"><parent link="l2"/><child link="tool"/></joint>
</robot>
`;
const urdf = join(tmp.path, 'two_link.urdf');
writeFileSync(urdf, URDF);
// actions = obs + [5, -5]: far past both joints' limits.
const model = writeLinearModel(tmp.path, 'far', [1, 0, 0, 1], [5, -5]);

const config = (command: Record<string, unknown>, joints: Record<string, unknown> = {}) => ({
  sim: { enabled: false },
  api: { enabled: false },
  foxglove: { enabled: false },
  motion: { joints: { urdf, max_step: 0.2, ...joints } },
  policies: {
    far: {
      model,
      inputs: { obs: { sources: [{ topic: '/joint_states', joints: ['a', 'b'] }] } },
      outputs: {
        actions: {
          command: {
            topic: '/arm_controller/joint_trajectory',
            type: 'trajectory_msgs/msg/JointTrajectory',
            ...command,
          },
        },
      },
    },
  },
  control: { loops: { arm: { policy: 'far', rate_hz: 50, max_observation_age_ms: 500 } } },
});

describe('motion.joints in a daemon', () => {
  it(
    "holds a loop's JointTrajectory to the URDF's limits and max_step from /joint_states",
    { timeout: 60_000 },
    async () => {
      const { daemon, codec, stop } = await startDaemon(config({ joint_names: ['a', 'b'] }), 'arm-daemon-');
      cleanups.push(stop);
      const states = daemon.bus.advertise('/joint_states', 'sensor_msgs/msg/JointState', { source: 'ros' });
      const sent: number[][] = [];
      daemon.bus.subscribe({
        name: 'test',
        topic: '/arm_controller/joint_trajectory',
        handler: (m) =>
          void sent.push(
            Array.from(codec.decode<{ points: { positions: Float64Array }[] }>(m.type, m.data).points[0]!.positions),
          ),
      });
      const timer = setInterval(
        () =>
          states.publish(
            codec.encode('sensor_msgs/msg/JointState', {
              header: { stamp: { sec: 0, nanosec: 0 }, frame_id: '' },
              name: ['b', 'a'],
              position: Float64Array.from([0.5, 1.0]),
              velocity: new Float64Array(0),
              effort: new Float64Array(0),
            }),
          ),
        10,
      );
      cleanups.push(() => clearInterval(timer));
      // The policy reads [a, b] = [1.0, 0.5] and asks for [6, -4.5]: max_step 0.2 from where the arm is.
      await waitFor(() => sent.length >= 10, 'ten commands', 20_000);
      for (const p of sent.slice(-5)) {
        expect(p[0]).toBeCloseTo(1.2, 5);
        expect(p[1]).toBeCloseTo(0.3, 5);
      }
      const loops = daemon.status().components.control?.details as Record<string, { clamped_commands: number }>;
      expect(loops.arm!.clamped_commands).toBeGreaterThan(0);
    },
  );

  it('config check refuses a loop naming a joint the URDF lacks, or a fixed one', async () => {
    const file = join(tmp.path, 'wrong-joint.yaml');
    writeFileSync(file, stringify({ data_dir: './d1', ...config({ joint_names: ['a', 'tool_mount'] }) }));
    const r = await runCli(['config', 'check', '--config', file], { cwd: tmp.path });
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stdout + r.stderr).toMatch(
      /policies\.far\.outputs\.actions\.command\.joint_names: joint "tool_mount" cannot be commanded: /,
    );
    const elbow = join(tmp.path, 'no-joint.yaml');
    writeFileSync(elbow, stringify({ data_dir: './d2', ...config({ joint_names: ['a', 'elbow'] }) }));
    const e = await runCli(['config', 'check', '--config', elbow], { cwd: tmp.path });
    expect(e.code).toBe(2);
    expect(e.stdout + e.stderr).toMatch(/command\.joint_names: the robot has no joint "elbow"/);
  });

  it("config check refuses a forward controller's command whose joints are not motion.joints.topics'", async () => {
    const file = join(tmp.path, 'topics.yaml');
    const command = { topic: '/forward_position_controller/commands', type: 'std_msgs/msg/Float64MultiArray' };
    const topics = { '/forward_position_controller/commands': ['a', 'b'] };
    writeFileSync(
      file,
      stringify({ data_dir: './d3', ...config({ ...command, joint_names: ['b', 'a'] }, { topics }) }),
    );
    const r = await runCli(['config', 'check', '--config', file], { cwd: tmp.path });
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toMatch(
      /command\.joint_names: \/forward_position_controller\/commands commands a, b \(motion\.joints\.topics\), in that order/,
    );
    const right = join(tmp.path, 'topics-right.yaml');
    writeFileSync(
      right,
      stringify({ data_dir: './d4', ...config({ ...command, joint_names: ['a', 'b'] }, { topics }) }),
    );
    const ok = await runCli(['config', 'check', '--config', right], { cwd: tmp.path });
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
  });
});
