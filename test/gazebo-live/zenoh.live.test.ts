// The daemon on Zenoh driving the Gazebo burger: Gazebo's topics leave ros_gz_bridge on DDS (Fast DDS), the real
// zenoh-bridge-ros2dds (on Cyclone DDS, the same domain) puts them on a Zenoh router, and the daemon's Zenoh adapter
// (mapping ros2dds, edge.zenoh.yaml) takes them from there and sends /cmd_vel back the same way: a robot whose
// Gazebo or drivers stay on DDS while the daemon runs on Zenoh. Skips with one line where there is no Gazebo (CI).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.ts';
import { DdsWorld } from '../ros2dds/dds-world.ts';
import { useZenohNetwork } from '../zenoh/zenoh-network.ts';
import { driveToDock, startDriveSession, stopWhileDriving, type DriveSession } from './drive-session.ts';
import { gazeboSetup } from './gazebo-env.ts';

const DOMAIN = 13;
const NAMESPACE = '/burger';
const zn = useZenohNetwork();
let dds: DdsWorld | undefined;
let session: DriveSession;
const work = tempDir('gazebo-zenoh-');

beforeAll(async () => {
  gazeboSetup({ rosGz: true }); // skips the file, in one line, where there is no Gazebo, before any bridge starts
  dds = new DdsWorld(DOMAIN);
  await dds.startBridge({ router: zn.net.routerEndpoint, ws: zn.net.wsUrl, namespace: NAMESPACE });
  session = await startDriveSession(DOMAIN, { zenoh: { endpoint: zn.net.wsUrl, namespace: NAMESPACE } });
}, 600_000);

afterAll(async () => {
  await session?.stop();
  await dds?.close();
  work.cleanup();
});

describe('the daemon on Zenoh driving the Gazebo burger through zenoh-bridge-ros2dds', () => {
  it("has Gazebo's topics on its bus, from the bridge, under the built-in sim's names and types", async () => {
    const status = await session.daemon.status();
    expect(status.components.zenoh?.state).toBe('running');
    const topics = new Map((status.topics as { topic: string; type: string }[]).map((t) => [t.topic, t.type]));
    const want = {
      '/scan': 'sensor_msgs/msg/LaserScan',
      '/odom': 'nav_msgs/msg/Odometry',
      '/clock': 'rosgraph_msgs/msg/Clock',
      '/map': 'nav_msgs/msg/OccupancyGrid',
    };
    expect(Object.fromEntries(Object.keys(want).map((t) => [t, topics.get(t)]))).toEqual(want);
  });

  it('drives to the charging dock with navigate_to, /cmd_vel going back through the bridge', async () => {
    const { run, goal, gazebo, wallS, sim } = await driveToDock(session, work.path);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(Math.hypot(gazebo.end!.x - goal.x, gazebo.end!.y - goal.y)).toBeLessThan(0.25);
    console.log(
      `charging_dock over Zenoh: Gazebo ${gazebo.timeS.toFixed(1)} s robot time (${wallS.toFixed(0)} s wall), ` +
        `${gazebo.distanceM.toFixed(2)} m, ${gazebo.collisions} collisions; built-in sim ${sim.time_s} s`,
    );
    expect(gazebo.collisions).toBe(0);
  }, 2_000_000);

  it("stops the burger on the operator's stop, the zero Twist going out through the bridge", async () => {
    const stop = await stopWhileDriving(session);
    expect(stop.stopped.code).toBe(0);
    console.log(
      `stop over Zenoh: at rest ${stop.restAfterZeroS.toFixed(3)} s of sim time after the zero Twist was on the ` +
        `bus, from ${stop.fromSpeed.toFixed(3)} m/s; braking at the drive's limit takes ${stop.brakingS.toFixed(3)} s`,
    );
    const run = await stop.back;
    expect(run.code).not.toBe(0);
    expect(run.stdout + run.stderr).toMatch(/stop/i);
    expect((await session.daemon.cli(['stop', '--release'])).code).toBe(0);
  }, 2_000_000);
});
