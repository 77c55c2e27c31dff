import { afterEach, describe, expect, it } from 'vitest';
import { BusActionClient, type GoalHandle } from '../../daemon/actions/index.ts';
import { MessageCodec } from '../../daemon/bus/index.ts';
import { runCleanups, type Cleanup } from '../helpers/cleanups.ts';
import { startSimDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { NAVIGATE_TO_POSE, NAVIGATE_TO_POSE_TYPE } from '../../sim/turtlebot-maze/navigate-to-pose-server.ts';

const cleanups: Cleanup[] = [];
afterEach(() => runCleanups(cleanups));

const poseGoal = (x: number, y: number, frame = 'map') => ({
  pose: { header: { frame_id: frame }, pose: { position: { x, y, z: 0 }, orientation: { w: 1 } } },
  behavior_tree: '',
});

async function navDaemon() {
  const d = await startSimDaemon(cleanups, { speed: 20 });
  const client = new BusActionClient({
    bus: d.daemon.bus,
    codec: new MessageCodec(d.daemon.definitions),
    name: NAVIGATE_TO_POSE,
    type: NAVIGATE_TO_POSE_TYPE,
  });
  return { ...d, client };
}

describe("the sim's navigate_to_pose (Nav2's action)", () => {
  it('drives the robot to the goal, with feedback of its pose and the distance left, and succeeds', async () => {
    const { client, sim, dock } = await navDaemon();
    expect(client.available()).toBe(true);
    const feedback: { distance: number; x: number }[] = [];
    const goal = await client.sendGoal(poseGoal(dock.x, dock.y), {
      onFeedback: (f) =>
        void feedback.push({
          distance: f.distance_remaining as number,
          x: (f.current_pose as { pose: { position: { x: number } } }).pose.position.x,
        }),
    });
    const outcome = await goal!.result();
    expect(outcome).toMatchObject({ state: 'succeeded', result: { error_code: 0, error_msg: '' } });
    const pose = sim.world.pose();
    expect(Math.hypot(pose.x - dock.x, pose.y - dock.y)).toBeLessThan(0.3);
    expect(feedback.length).toBeGreaterThan(1);
    // The distance left shrinks from the first feedback to the last.
    expect(feedback.at(-1)!.distance).toBeLessThan(feedback[0]!.distance);
  });

  it('cancels a goal: the robot stops short of it, and the goal ends canceled', async () => {
    const { client, sim, dock } = await navDaemon();
    const start = sim.world.pose();
    const goal = (await client.sendGoal(poseGoal(dock.x, dock.y)))!;
    await waitFor(() => Math.hypot(sim.world.pose().x - start.x, sim.world.pose().y - start.y) > 0.2, 'moving');
    const pending = goal.result();
    expect(await goal.cancel()).toEqual({ returnCode: 0 });
    expect(await pending).toMatchObject({ state: 'canceled' });
    const pose = sim.world.pose();
    expect(Math.hypot(pose.x - dock.x, pose.y - dock.y)).toBeGreaterThan(0.3);
  });

  it('rejects a goal in another frame than map, and a newer goal preempts the running one', async () => {
    const { client, dock } = await navDaemon();
    expect(await client.sendGoal(poseGoal(1, 1, 'odom'))).toBeUndefined();
    const first: GoalHandle = (await client.sendGoal(poseGoal(dock.x, dock.y)))!;
    const firstOutcome = first.result();
    const second = (await client.sendGoal(poseGoal(dock.x, dock.y)))!;
    expect(await firstOutcome).toMatchObject({ state: 'aborted' });
    expect(await second.result()).toMatchObject({ state: 'succeeded' });
  });
});
