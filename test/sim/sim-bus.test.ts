import { describe, expect, it } from 'vitest';
import { runMain } from '../helpers/cli.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { startSimDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';

const cleanups = cleanupStack();

/**
 * Starts a daemon with the sim paused (other components take a while to start), then unpauses it unless asked not to.
 */
async function startSim(speed = 200, stayPaused = false) {
  const { daemon, sim, codec } = await startSimDaemon(cleanups, { speed, paused: true, prefix: 'sim-bus-' });
  if (!stayPaused) sim.unpause();
  return { daemon, sim, codec };
}

describe('turtlebot-maze on the bus', () => {
  it('publishes the TurtleBot3 topics at their rates, as CDR of their ROS 2 types', async () => {
    const { daemon, sim, codec } = await startSim();
    await sim.until(10);
    const stats = Object.fromEntries(daemon.bus.stats().map((s) => [s.topic, s]));
    expect(stats['/scan']?.type).toBe('sensor_msgs/msg/LaserScan');
    expect(stats['/odom']?.type).toBe('nav_msgs/msg/Odometry');
    expect(stats['/tf']?.type).toBe('tf2_msgs/msg/TFMessage');
    expect(stats['/map']?.type).toBe('nav_msgs/msg/OccupancyGrid');
    expect(stats['/scan']!.count).toBeGreaterThanOrEqual(50); // 5 Hz for 10 sim seconds
    expect(stats['/scan']!.count).toBeLessThanOrEqual(52);
    expect(stats['/odom']!.count).toBeGreaterThanOrEqual(300); // 30 Hz
    expect(stats['/odom']!.count).toBeLessThanOrEqual(302);
    expect(stats['/map']!.count).toBe(1);
    expect(daemon.bus.topicQos('/map')?.durability).toBe('transient_local');

    // A subscriber that arrives late still gets the (latched) map, and a scan decodes as the LDS-01's.
    const got: Record<string, unknown> = {};
    for (const topic of ['/map', '/scan']) {
      daemon.bus.subscribe({ name: 'late', topic, handler: (m) => void (got[topic] ??= codec.decode(m.type, m.data)) });
    }
    await sim.until(10.5);
    const map = got['/map'] as { info: { width: number; resolution: number }; data: Int8Array };
    expect(map.info).toMatchObject({ width: 162, resolution: expect.closeTo(0.05, 6) });
    expect(map.data.some((c) => c === 100)).toBe(true);
    const scan = got['/scan'] as { ranges: Float32Array; range_max: number; header: { frame_id: string } };
    expect(scan.ranges).toHaveLength(360);
    expect(scan.range_max).toBeCloseTo(3.5);
    expect(scan.header.frame_id).toBe('base_scan');
  });

  it('publishes only what `sim --help` lists, the camera included', async () => {
    const { daemon, sim } = await startSim();
    await sim.until(1);
    const published = daemon.bus
      .stats()
      .filter((s) => s.sources.includes('sim') && s.count > 0)
      .map((s) => s.topic.replace(/\/_action\/.*$/, '')); // an action's topics, by the action's name
    expect(published).toContain('/camera/image_raw');
    const help = await runMain(['sim', '--help']);
    expect(help.code).toBe(0);
    const listed = help.stdout.slice(0, help.stdout.indexOf('drives the robot')).split(/[\s,]+/);
    for (const topic of published) expect(listed, topic).toContain(topic);
  });

  it('starts paused when asked, holding its clock until the sim/unpause query', async () => {
    const { daemon, sim } = await startSim(200, true);
    await waitFor(() => sim.holding, 'the step loop to wait in its pause');
    expect(sim.time).toBe(0);
    expect(sim.health().reason).toMatch(/paused/);
    const reply = await daemon.bus.query('sim/unpause', { encoding: 'text/plain', payload: new Uint8Array() });
    expect(new TextDecoder().decode(reply.payload)).toBe('running from 0.000 s');
    await sim.until(1);
    expect(sim.time).toBeGreaterThanOrEqual(1);
    await daemon.bus.query('sim/pause', { encoding: 'text/plain', payload: new Uint8Array() });
    const heldAt = sim.time;
    await waitFor(() => sim.holding, 'the step loop to wait in its pause');
    expect(sim.time - heldAt).toBeLessThan(0.011); // at most the step in flight
  });

  it('drives from /cmd_vel, and refuses a command with a NaN without falling over', async () => {
    const { daemon, sim, codec } = await startSim();
    const teleop = daemon.bus.advertise('/cmd_vel', 'geometry_msgs/msg/Twist', { source: 'teleop' });
    const twist = (x: number, z: number) =>
      codec.encode('geometry_msgs/msg/Twist', { linear: { x, y: 0, z: 0 }, angular: { x: 0, y: 0, z } });
    const start = sim.world.pose();
    for (let t = 0.1; t < 1.5; t += 0.1) {
      teleop.publish(twist(0.2, 0));
      await sim.until(t);
    }
    expect(sim.world.pose().x - start.x).toBeGreaterThan(0.15);
    teleop.publish(twist(Number.NaN, 0));
    await sim.until(2);
    expect(sim.health()).toMatchObject({ state: 'running', details: { rejected_commands: 1 } });
  });
});
