import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readApiFile } from '../../daemon/api/discovery.ts';
import { connectClient, httpTransport, untrustedData } from '../mcp/mcp-client.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { waitFor } from '../helpers/wait.ts';
import { SO101_JOINTS } from '../peers/arm.ts';
import { codec, primed } from '../rclpy/rclpy-daemon.ts';
import {
  ARRAY,
  distance,
  drift,
  FORWARD_TOPIC,
  GRIPPER_TOPIC,
  startArmWorld,
  TRAJECTORY,
  TRAJECTORY_TOPIC,
  type ArmWorld,
} from './so101-world.ts';

/**
 * With the operator's stop latched, each message that would move the simulated SO-101 (a JointTrajectory, a forward
 * position controller's Float64MultiArray, the gripper's) is sent from each door of the daemon: `topic pub`, a
 * publish intent, a Foxglove client, an MCP client. Each door says it refused, and the simulator's own joints (the
 * node's trace) stay where they were; released, the same path reaches the arm.
 */

// Below test/gazebo-live's 10: no other test file uses it.
const DOMAIN = 9;
const REST = [0.3, -0.4, 0.5, 0.6, -0.2, 0.4];
/** Far from REST on every joint, inside the URDF's limits. */
const FAR = [-1.2, 1.2, -1.2, -1.2, 1.5, 1.4];
/** The most the resting joints may move (rad): the servos' settling, a small fraction of any command's move. */
const STILL = 1e-3;

const cleanups = cleanupStack(afterAll);
let arm: ArmWorld;

const trajectory = (positions: number[]) => ({
  header: { stamp: { sec: 0, nanosec: 0 }, frame_id: '' },
  joint_names: SO101_JOINTS,
  points: [{ positions, velocities: [], accelerations: [], effort: [], time_from_start: { sec: 1, nanosec: 0 } }],
});
const array = (data: number[]) => ({ layout: { dim: [], data_offset: 0 }, data });

/** Each actuating message: topic, type, its fields, and as `topic pub` writes it. */
const MESSAGES: [string, string, object, string][] = [
  [TRAJECTORY_TOPIC, TRAJECTORY, trajectory(FAR), `{joint_names: [${SO101_JOINTS}], points: [{positions: [${FAR}]}]}`],
  [FORWARD_TOPIC, ARRAY, array(FAR), `{data: [${FAR}]}`],
  [GRIPPER_TOPIC, ARRAY, array([FAR[5]!]), `{data: [${FAR[5]}]}`],
];

beforeAll(async () => {
  arm = await startArmWorld({
    domain: DOMAIN,
    ros: {
      node_name: 'edge_arm_doors',
      topics: ['/joint_states', '/robot_description'],
      publish: [TRAJECTORY_TOPIC, FORWARD_TOPIC, GRIPPER_TOPIC],
    },
    extra: {
      sim: { enabled: false },
      motion: { joints: { robot_description: '/robot_description', max_step: 2 } },
      mcp: { tools: ['publish'] },
    },
    node: { initial: REST, cameraRate: 0 },
  });
  cleanups.push(() => arm.close());
  // Each topic's path from the daemon to the node open (a volatile topic reaches only matched readers): a probe that
  // asks for where the arm is, until the node has taken one.
  for (const [topic, type] of MESSAGES) {
    const from = arm.mark();
    const probe = topic === TRAJECTORY_TOPIC ? trajectory(REST) : array(topic === GRIPPER_TOPIC ? [REST[5]!] : REST);
    await primed(
      () => arm.world.bus.publish(topic, type, codec.encode(type, probe)),
      () => arm.commands(from).some((c) => c.topic === topic),
      `${topic} from the daemon to the simulated arm`,
    );
  }
}, 240_000);

describe('a latched stop and the simulated SO-101', () => {
  it('refuses each actuating message at each door, and the simulated joints stay where they were', async () => {
    const { daemon, bus } = arm.world;
    // at rest: a second of the resting arm, for the figure of its own drift
    const resting = arm.mark();
    await waitFor(
      () => arm.ticks(resting).length > 1 && arm.ticks(resting).at(-1)!.t > arm.ticks(resting)[0]!.t + 1,
      'a second at rest',
    );
    const restDrift = drift(arm.ticks(resting), arm.ticks(resting)[0]!.qpos);

    expect((await daemon.cli(['stop', '--reason', 'arm doors'])).code).toBe(0);
    const from = arm.mark();
    const here = arm.ticks().at(-1)!.qpos;
    const refusals: Record<string, number> = {};
    const refused = (door: string) => (refusals[door] = (refusals[door] ?? 0) + 1);

    for (const [topic, type, , text] of MESSAGES) {
      const pub = await daemon.cli(['topic', 'pub', topic, type, text, '--once']);
      expect(pub.code, `${type} on ${topic}: ${pub.stdout}`).toBe(1);
      expect(pub.stderr).toMatch(/the robot is stopped/);
      refused('topic pub');
    }

    for (const [topic, type, fields] of MESSAGES) {
      const params = JSON.stringify({ topic, type, fields });
      const intent = await daemon.cli(['intent', 'publish', '--params', params, '--json']);
      expect(intent.code, intent.stdout).toBe(1);
      expect(intent.stdout).toMatch(/"rule":"stop_latch"/);
      refused('intent');
    }

    const statusesBefore = bus.statuses().length;
    for (const [topic, type, fields] of MESSAGES) bus.publish(topic, type, codec.encode(type, fields));
    await waitFor(() => bus.statuses().length >= statusesBefore + MESSAGES.length, 'a status for each publish');
    const told = bus.statuses().slice(statusesBefore);
    for (const [topic] of MESSAGES)
      expect(
        told.some((s) => s.includes('stopped') && s.includes(topic)),
        told.join('\n'),
      ).toBe(true);
    for (const [topic] of MESSAGES) if (told.some((s) => s.includes(topic))) refused('foxglove');

    const api = readApiFile(join(daemon.dir, 'data'))!;
    const client = await connectClient(cleanups, httpTransport(api.url), 'arm-doors');
    for (const [topic, type, fields] of MESSAGES) {
      const call = await client.callTool({ name: 'publish', arguments: { topic, type, fields } });
      expect(call.isError, JSON.stringify(call)).toBe(true);
      expect(JSON.stringify(untrustedData(call).data)).toContain('stop_latch');
      refused('mcp');
    }

    // Two seconds on, the simulator says: nothing but a hold where the arm was reached it, and it did not move.
    const sent = arm.ticks().at(-1)!.t;
    await waitFor(() => (arm.ticks().at(-1)?.t ?? 0) > sent + 2, 'two seconds after the last door', 30_000);
    const moved = drift(arm.ticks(from), here);
    console.log(JSON.stringify({ rest_drift_mrad: restDrift * 1000, latched_drift_mrad: moved * 1000, refusals }));
    for (const c of arm.commands(from))
      for (const p of c.points ?? []) expect(distance(p.positions, here), JSON.stringify(c)).toBeLessThan(STILL);
    expect(arm.commands(from).filter((c) => c.data !== undefined)).toEqual([]);
    expect(moved).toBeLessThan(STILL);
  }, 180_000);

  it('lets the same message through once released: the doors were open to the arm', async () => {
    const { daemon } = arm.world;
    expect((await daemon.cli(['stop', '--release'])).code).toBe(0);
    const from = arm.mark();
    const [topic, type, , text] = MESSAGES[1]!;
    const pub = await daemon.cli(['topic', 'pub', topic, type, text, '--once']);
    expect(pub.code, pub.stderr).toBe(0);
    await waitFor(() => arm.commands(from).some((c) => c.topic === topic), `the node taking ${topic}`, 30_000);
    const goal = FAR.slice(0, 5);
    await waitFor(
      () => arm.ticks(from).some((t) => distance(t.qpos.slice(0, 5), goal) < 0.05),
      'the arm at the forward command',
      60_000,
    );
  }, 120_000);
});
