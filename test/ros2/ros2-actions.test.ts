import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopChild } from '../helpers/stop-child.ts';
import { Ros2Daemon } from './ros2-daemon.ts';
import { ros2Env, ros2Node } from './ros2-env.ts';

const DOMAIN = 65;
let env: NodeJS.ProcessEnv;
let daemon: Ros2Daemon;

beforeAll(async () => {
  env = ros2Env(DOMAIN);
  const shares = (env.AMENT_PREFIX_PATH ?? '').split(':').map((prefix) => join(prefix, 'share'));
  daemon = await Ros2Daemon.start(
    env,
    { bridge_recorded: false, actions: { call: ['/fibonacci'] } },
    { bus: { definitions: { dirs: shares } } },
  );
}, 120_000);

afterAll(async () => {
  if (daemon) expect(await daemon.stop()).toBe(0);
});

describe('ROS 2 actions against the daemon (rclnodejs 2.2.0, rmw_cyclonedds_cpp)', () => {
  it("sends a goal to action_tutorials_cpp's fibonacci server and passes its feedback and result on as JSON", async () => {
    const server = ros2Node(env, 'action_tutorials_cpp', 'fibonacci_action_server');
    try {
      const sent = await daemon.cli(
        ['action', 'send_goal', '/fibonacci', 'action_tutorials_interfaces/action/Fibonacci', '{order: 5}', '-f'],
        90_000,
      );
      expect(sent.code, `${sent.stdout}\n${sent.stderr}\nserver: ${server.output()}`).toBe(0);
      const feedback = [...sent.stdout.matchAll(/Feedback:\n([\s\S]*?)\n\n/g)].map(
        (m) => JSON.parse(m[1]!) as { partial_sequence: unknown },
      );
      // An int32[] field reaches the bus as a JSON array, not as the typed array's {"0": 0, "1": 1, ...}.
      expect(feedback.at(-1)).toEqual({ partial_sequence: [0, 1, 1, 2, 3, 5] });
      expect(sent.stdout).toMatch(/Result:\n\s+\{\s+"sequence": \[\s+0,\s+1,\s+1,\s+2,\s+3,\s+5\s+\]\s+\}/);
      expect(sent.stdout).toContain('Goal finished with status: SUCCEEDED');
    } finally {
      await stopChild(server, 'SIGINT');
    }
  }, 120_000);
});
