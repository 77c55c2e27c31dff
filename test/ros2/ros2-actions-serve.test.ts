import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAZE_SEED, generateMaze } from '../../sim/turtlebot-maze/maze.ts';
import { ROOT } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { peerMissing } from '../peers/missing.ts';
import { Ros2Daemon } from './ros2-daemon.ts';
import { ros2, ros2Env, type Ros2Result } from './ros2-env.ts';

/**
 * `ros2 action send_goal` to the daemon's navigate_to_pose: the sim serves Nav2's action on the bus and the rclnodejs
 * bridge serves it to ROS 2 (ros.actions.serve). Needs nav2_msgs built in the sourced ROS 2 (docs/verified.md); the
 * daemon generates rclnodejs's JavaScript for it.
 */

const DOMAIN = 66;
const NAV_TYPE = 'nav2_msgs/action/NavigateToPose';
const GENERATED = join(ROOT, 'node_modules', 'rclnodejs', 'generated', 'nav2_msgs');
const { namedPoses } = generateMaze({ seed: DEFAULT_MAZE_SEED });
const dock = namedPoses.charging_dock!;
const start = namedPoses.start!;
/** A square around the maze's start and dock; the far corner lies outside it. */
const FENCE = [
  { x: 0, y: 0 },
  { x: 7, y: 0 },
  { x: 7, y: 3 },
  { x: 0, y: 3 },
];
const goalYaml = (x: number, y: number) =>
  `{pose: {header: {frame_id: map}, pose: {position: {x: ${x}, y: ${y}}, orientation: {w: 1.0}}}}`;

let env: NodeJS.ProcessEnv;
let daemon: Ros2Daemon;

beforeAll(async () => {
  env = ros2Env(DOMAIN);
  const prefixes = (env.AMENT_PREFIX_PATH ?? '').split(':').filter((p) => p !== '');
  const built = prefixes.some((p) => existsSync(join(p, 'share', 'nav2_msgs', 'action', 'NavigateToPose.idl')));
  if (!built)
    peerMissing(
      "nav2_msgs is not built in this ROS 2: build nav2_msgs from ros-navigation/navigation2's jazzy branch into it " +
        '(docs/verified.md)',
      { required: false },
    );
  // As on a robot where apt installed nav2_msgs after rclnodejs: no JavaScript for it until the daemon generates it.
  rmSync(GENERATED, { recursive: true, force: true });
  daemon = await Ros2Daemon.start(
    env,
    { bridge_recorded: false, actions: { serve: [{ action: '/navigate_to_pose', type: NAV_TYPE }] } },
    { sim: { enabled: true, speed: 4 }, motion: { geofence: { polygon: FENCE } } },
  );
}, 120_000);

afterAll(async () => {
  if (daemon) expect(await daemon.stop()).toBe(0);
});

/** The daemon's warnings and errors, to show beside a failure. */
const warnings = () =>
  daemon.process.logs
    .filter((line) => Number(line.level) >= 40)
    .map((line) => JSON.stringify(line))
    .join('\n');

/** Why the daemon said it rejected ROS goals (ROS 2 carries no reason with a rejection). */
const rejections = () =>
  daemon.process.logs.filter((line) => line.msg === 'ros: rejected a ROS goal').map((line) => String(line.reason));

/** `ros2 action send_goal --feedback`, its output readable while it runs. */
function sendGoal(x: number, y: number): { output: () => string; interrupt: () => void; done: Promise<Ros2Result> } {
  const args = ['action', 'send_goal', '/navigate_to_pose', NAV_TYPE, goalYaml(x, y), '--feedback'];
  const child = spawn('ros2', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGINT'), 100_000);
  const done = new Promise<Ros2Result>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return { output: () => stdout, interrupt: () => child.kill('SIGINT'), done };
}

/** The robot's position in each feedback ros2 printed (current_pose.pose.position). */
function positions(stdout: string): { x: number; y: number }[] {
  const found = stdout.matchAll(/current_pose:[\s\S]*?position:\s+x: (-?[\d.e+-]+)\s+y: (-?[\d.e+-]+)/g);
  return [...found].map((m) => ({ x: Number(m[1]), y: Number(m[2]) }));
}

describe('ros2 action send_goal to the daemon (rclnodejs 2.2.0 ActionServer, rmw_cyclonedds_cpp)', () => {
  it("generates rclnodejs's JavaScript for nav2_msgs, installed after rclnodejs, and lists the daemon as the server of navigate_to_pose", async () => {
    await waitFor(async () => (await ros2(env, ['action', 'list', '-t'])).stdout.includes(NAV_TYPE), 'the action');
    expect(existsSync(join(GENERATED, 'nav2_msgs__action__NavigateToPose.js'))).toBe(true);
    const info = await ros2(env, ['action', 'info', '/navigate_to_pose']);
    expect(info.stdout).toMatch(/Action servers: 1\n\s+\/auraison_edge/);
  }, 60_000);

  it('drives the sim robot to the dock: accepted, feedback, SUCCEEDED', async () => {
    const sent = await sendGoal(dock.x, dock.y).done;
    expect(sent.code, `${sent.stdout}\n${sent.stderr}\n${warnings()}`).toBe(0);
    expect(sent.stdout).toMatch(/Goal accepted with ID: [0-9a-f]{32}/);
    expect(sent.stdout).toContain('Feedback:');
    expect(sent.stdout).toContain('Goal finished with status: SUCCEEDED');
    const seen = positions(sent.stdout);
    expect(seen.length).toBeGreaterThan(1);
    // The robot moved from the start to the dock, as its feedback said along the way.
    expect(Math.hypot(seen[0]!.x - start.x, seen[0]!.y - start.y)).toBeLessThan(1);
    const last = seen.at(-1)!;
    expect(Math.hypot(last.x - dock.x, last.y - dock.y)).toBeLessThan(0.5);
  }, 120_000);

  it('rejects a goal outside the geofence before the robot moves', async () => {
    const far = namedPoses.far_corner!;
    const sent = await sendGoal(far.x, far.y).done;
    expect(sent.stdout).toContain('Goal was rejected.');
    expect(sent.stdout).not.toContain('Goal accepted');
    expect(rejections()).toEqual([
      `goal position (${far.x}, ${far.y}) is outside the geofence (motion.geofence.polygon)`,
    ]);
  }, 60_000);

  it('cancels a running goal when ros2 action send_goal is interrupted, as Ctrl-C does', async () => {
    const goal = sendGoal(start.x, start.y);
    await waitFor(() => goal.output().includes('Feedback:'), 'the first feedback');
    goal.interrupt();
    const sent = await goal.done;
    // ros2cli 0.32.2 sends the cancel but its context is already shut down by the SIGINT, so it never reads the answer
    // ("Exception while canceling goal: None", the same against action_tutorials_cpp's server): the daemon's side says.
    expect(sent.stdout).toContain('Canceling goal...');
    const ended = () => daemon.process.logs.filter((line) => line.msg === "ros: a ROS client's goal ended");
    await waitFor(() => ended().length === 2, 'the goal to end');
    expect(ended().map((line) => line.state)).toEqual(['succeeded', 'canceled']);
  }, 60_000);

  it("ends a running goal when the operator's stop comes, and rejects goals while it is latched", async () => {
    const goal = sendGoal(start.x, start.y);
    await waitFor(() => goal.output().includes('Feedback:'), 'the first feedback');
    const stop = await daemon.cli(['stop', '--reason', 'ros2 action test']);
    expect(stop.code, stop.stderr).toBe(0);
    const sent = await goal.done;
    // The daemon cancelled it, not its ROS client: rcl_action ends it aborted.
    expect(sent.stdout).toContain('Goal finished with status: ABORTED');
    const again = await sendGoal(dock.x, dock.y).done;
    expect(again.stdout).toContain('Goal was rejected.');
    expect(rejections().at(-1)).toMatch(/stop/i);
  }, 120_000);
});
