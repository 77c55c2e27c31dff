// The daemon on the ROS graph of a running Gazebo (hand-built, with ros_gz_bridge; test/gazebo-live/gazebo-env.ts):
// the bridge carries the exported topics, the daemon's navigate_to drives the Gazebo burger to the charging dock
// (time, distance and collisions printed beside the built-in sim's on the same route), the operator's stop brings
// it to rest (measured in sim time), and the bag it recorded imports and plays back as the live run went.
// Skips with one line where there is no Gazebo (CI). bench/gazebo.bench.ts runs the same drive for its figures.
import { cpSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cli.ts';
import { stopChild } from '../helpers/stop-child.ts';
import { driveToDock, startDriveSession, stopWhileDriving, type DriveSession } from './drive-session.ts';
import { replayedPoses } from './replayed.ts';

const DOMAIN = 11;
const ROS_TOPICS = ['/scan', '/odom', '/tf', '/joint_states', '/clock'];
let session: DriveSession;
const work = tempDir('gazebo-drive-');

beforeAll(async () => {
  session = await startDriveSession(DOMAIN); // skips the file, in one line, where there is no Gazebo
}, 600_000);

afterAll(async () => {
  await session?.stop();
  work.cleanup();
});

describe('the daemon driving the Gazebo burger through ros_gz_bridge', () => {
  it("has every bridged Gazebo topic on its bus under the built-in sim's names and types", async () => {
    const status = await session.daemon.status();
    const entries = status.topics as { topic: string; type: string }[];
    const topics = new Map(entries.map((t) => [t.topic, t.type]));
    expect(Object.fromEntries(ROS_TOPICS.map((t) => [t, topics.get(t)]))).toEqual({
      '/scan': 'sensor_msgs/msg/LaserScan',
      '/odom': 'nav_msgs/msg/Odometry',
      '/tf': 'tf2_msgs/msg/TFMessage',
      '/joint_states': 'sensor_msgs/msg/JointState',
      '/clock': 'rosgraph_msgs/msg/Clock',
    });
  });

  it('drives to the charging dock with navigate_to, as the built-in sim does on the same route', async () => {
    const { run, goal, gazebo, wallS, sim } = await driveToDock(session, work.path);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(Math.hypot(gazebo.end!.x - goal.x, gazebo.end!.y - goal.y)).toBeLessThan(0.25);
    console.log(
      `charging_dock: Gazebo ${gazebo.timeS.toFixed(1)} s robot time (${wallS.toFixed(0)} s wall), ` +
        `${gazebo.distanceM.toFixed(2)} m, ${gazebo.collisions} collisions, closest wall ` +
        `${gazebo.closestWallM.toFixed(3)} m; built-in sim ${sim.time_s} s, ${sim.distance_m} m, ` +
        `${sim.collisions} collisions`,
    );
    expect(sim.reached).toBe(true);
    expect(gazebo.collisions).toBe(0);
  }, 2_000_000);

  it("stops the Gazebo burger on the operator's stop, and the drive it was on ends", async () => {
    const stop = await stopWhileDriving(session);
    expect(stop.stopped.code).toBe(0);
    console.log(
      `stop: at rest ${stop.restAfterZeroS.toFixed(3)} s of sim time after the zero Twist was on the bus ` +
        `(${stop.restAfterCommandS.toFixed(3)} s after \`auraison-edge stop\` was started), from ` +
        `${stop.fromSpeed.toFixed(3)} m/s, coasting ${stop.coastM.toFixed(3)} m; braking at the drive's limit takes ` +
        `${stop.brakingS.toFixed(3)} s`,
    );
    const run = await stop.back;
    expect(run.code).not.toBe(0);
    expect(run.stdout + run.stderr).toMatch(/stop/i);
    expect((await session.daemon.cli(['stop', '--release'])).code).toBe(0);
  }, 2_000_000);

  it('recorded a bag that imports, and whose play moves the daemon it runs in as the live run moved', async () => {
    const { daemon } = session;
    const lastLive = session.odoms().at(-1)!;
    await stopChild(daemon.process.child, 'SIGINT');
    await daemon.process.exited;
    const bags = join(daemon.dir, 'data', 'bags');
    const bag = join(work.path, 'gazebo-bag');
    cpSync(join(bags, readdirSync(bags)[0]!), bag, { recursive: true });
    const info = await runCli(['bag', 'info', bag, '--json'], { cwd: work.path });
    expect(info.code, info.stderr).toBe(0);
    const counts = (JSON.parse(info.stdout) as { topics: { name: string; count: number }[] }).topics;
    for (const topic of [...ROS_TOPICS, '/map', '/cmd_vel'])
      expect(counts.find((t) => t.name === topic)?.count ?? 0, topic).toBeGreaterThan(0);
    const imported = await runCli(['bag', 'import', bag, '--config', daemon.config], { cwd: daemon.dir });
    expect(imported.code, imported.stderr).toBe(0);
    const query = await runCli(
      ['query', "SELECT count(*) AS n FROM messages WHERE topic = '/scan'", '--json', '--config', daemon.config],
      { cwd: daemon.dir },
    );
    expect(query.code, query.stderr).toBe(0);
    const rows = (JSON.parse(query.stdout) as { rows: unknown[][] }).rows;
    expect(Number(rows[0]![0])).toBeGreaterThan(0);
    const played = await replayedPoses(bag, work.path);
    const end = played.at(-1)!;
    expect(Math.hypot(end.x - lastLive.x, end.y - lastLive.y)).toBeLessThan(0.01);
    expect(played.length).toBeGreaterThan(1);
  }, 900_000);
});
