import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runMain } from '../helpers/cli.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { type Cleanup, runCleanups } from '../helpers/cleanups.ts';

/**
 * The latched stop holds every command that actuates, by its type, on any topic: an arm's trajectory, a forward
 * controller's array, a Twist's kin, from a Foxglove client (`topic pub`), an intent and the actions API alike.
 * What stops (a trajectory with no points) still passes; what measures (/joint_states) is the robot's alone.
 */

const cleanups: Cleanup[] = [];
afterEach(() => runCleanups(cleanups));

const TRAJECTORY = '/arm_controller/joint_trajectory';
const JOINT_TRAJECTORY = 'trajectory_msgs/msg/JointTrajectory';
const FAR = '{points: [{positions: [3, -3, 3, -3, 3, -3]}]}';

/** Each latched message that actuates: topic, type, message. */
const ACTUATING: [string, string, string][] = [
  [TRAJECTORY, JOINT_TRAJECTORY, FAR],
  ['/forward_position_controller/commands', 'std_msgs/msg/Float64MultiArray', '{data: [0.5, 0.5]}'],
  ['/base/cmd_vel_cov', 'geometry_msgs/msg/TwistWithCovariance', '{twist: {linear: {x: 0.3}}}'],
  ['/base/accel', 'geometry_msgs/msg/Accel', '{angular: {z: 1}}'],
  ['/arm/joint_commands', 'sensor_msgs/msg/JointState', '{name: [shoulder], position: [1.2]}'],
];

describe('a latched stop holds what actuates, by type', () => {
  it(
    'refuses an arm trajectory, a forward command, a Twist kin from topic pub and an intent; a stop passes, /joint_states never does; a release lets them through',
    { timeout: 90_000 },
    async () => {
      const { dir, stop } = await startDaemon(
        {
          sim: { enabled: true, speed: 10 },
          api: { port: 0 },
          foxglove: {
            port: 0,
            client_publish: { enabled: true, topics: [...ACTUATING.map(([topic]) => topic), '/joint_states'] },
          },
          lakehouse: { enabled: false },
          retention: { enabled: false },
        },
        'stop-latch-actuation-',
      );
      cleanups.push(stop);
      const config = join(dir, 'edge.yaml');
      writeFileSync(config, 'data_dir: ./data\napi: {port: 0}\nfoxglove: {port: 0}\n');
      const cli = (...args: string[]) => runMain([...args, '--config', config], { cwd: dir, env: { USER: 'ada' } });

      expect((await cli('stop', '--reason', 'arm inspection')).code).toBe(0);
      for (const [topic, type, message] of ACTUATING) {
        const pub = await cli('topic', 'pub', topic, type, message, '--once');
        expect(pub.code, `${type} on ${topic}: ${pub.stdout}`).toBe(1);
        expect(pub.stderr).toMatch(/the robot is stopped: latched by ada .*arm inspection/);
        expect(pub.stderr).toContain(`a ${type}`);
        expect(pub.stderr).toContain(`on ${topic}`);
      }
      // A trajectory with no points is the controller's "hold": a stop. /joint_states is the robot's measurement,
      // which no client publishes, latched or not (motion.joints.clients_may_publish).
      const hold = await cli('topic', 'pub', TRAJECTORY, JOINT_TRAJECTORY, '{joint_names: [shoulder]}', '--once');
      expect(hold.code, hold.stderr).toBe(0);
      const measured = await cli(
        'topic',
        'pub',
        '/joint_states',
        'sensor_msgs/msg/JointState',
        '{name: [shoulder], position: [1.2]}',
        '--once',
      );
      expect(measured.code, measured.stdout).toBe(1);
      expect(measured.stderr).toMatch(/may not publish on \/joint_states: .*only the robot publishes/);

      // The same trajectory as a publish intent: refused by the latch's rule.
      const params = JSON.stringify({
        topic: TRAJECTORY,
        type: JOINT_TRAJECTORY,
        fields: { points: [{ positions: [3, -3, 3, -3, 3, -3] }] },
      });
      const intent = await cli('intent', 'publish', '--params', params, '--json');
      expect(intent.code, intent.stdout).toBe(1);
      const lines = intent.stdout.trim().split('\n');
      expect(JSON.parse(lines.at(-1)!)).toMatchObject({
        run: {
          status: 'failed',
          reason: expect.stringContaining(`a ${JOINT_TRAJECTORY} with points, on ${TRAJECTORY}`),
        },
      });
      expect(intent.stdout).toMatch(/"rule":"stop_latch"/);

      // An arm's action goal: 409 while latched.
      const { readApiFile } = await import('../../daemon/api/discovery.ts');
      const url = readApiFile(join(dir, 'data'))!.url;
      const goal = await fetch(`${url}/actions/goal`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          name: '/arm_controller/follow_joint_trajectory',
          type: 'control_msgs/action/FollowJointTrajectory',
          goal: {},
        }),
      });
      expect(goal.status).toBe(409);
      expect(await goal.json()).toMatchObject({ error: 'stopped', message: expect.stringMatching(/latched by ada/) });

      expect((await cli('stop', '--release', '--by', 'bob')).code).toBe(0);
      const again = await cli('topic', 'pub', TRAJECTORY, JOINT_TRAJECTORY, FAR, '--once');
      expect(again.code, again.stderr).toBe(0);
      const intentAgain = await cli('intent', 'publish', '--params', params, '--wait', '--json');
      expect(intentAgain.code, intentAgain.stdout).toBe(0);
    },
  );
});
