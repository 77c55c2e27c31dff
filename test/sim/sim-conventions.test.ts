import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { defaultConfig } from '../../daemon/config/load.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { silentLogger } from '../../daemon/log.ts';
import { TurtlebotMazeSim } from '../../sim/turtlebot-maze/index.ts';
import { tempDir } from '../helpers/cli.ts';
import { running } from '../helpers/daemon.ts';

/**
 * What a ROS 2 / Nav2 engineer checks when the sim's data is opened in RViz or Foxglove: REP 103/105 frames and
 * a complete TF tree, stamps on one clock, and LaserScan, Odometry and OccupancyGrid filled in as a TurtleBot3
 * (LDS-01, Gazebo's diff drive) and map_server fill them in. One short teleop drive in a circle (so yaw and
 * angular velocity are not zero), every message decoded in the order a glob subscriber (the recorder) sees it.
 */

type Stamp = { sec: number; nanosec: number };
type Header = { stamp: Stamp; frame_id: string };
type Quat = { x: number; y: number; z: number; w: number };
type Tf = {
  header: Header;
  child_frame_id: string;
  transform: { translation: { x: number; y: number; z: number }; rotation: Quat };
};
type Scan = {
  header: Header;
  angle_min: number;
  angle_max: number;
  angle_increment: number;
  time_increment: number;
  scan_time: number;
  range_min: number;
  range_max: number;
  ranges: Float32Array;
  intensities: Float32Array;
};
type Odom = {
  header: Header;
  child_frame_id: string;
  pose: { pose: { position: { x: number; y: number; z: number }; orientation: Quat }; covariance: Float64Array };
  twist: {
    twist: { linear: { x: number; y: number; z: number }; angular: { x: number; y: number; z: number } };
    covariance: Float64Array;
  };
};
type Grid = {
  header: Header;
  info: {
    resolution: number;
    width: number;
    height: number;
    origin: { position: { x: number; y: number; z: number }; orientation: Quat };
  };
  data: Int8Array;
};
type Decoded = { topic: string; msg: unknown };

const ns = (s: Stamp) => BigInt(s.sec) * 1_000_000_000n + BigInt(s.nanosec);
const yawOf = (q: Quat) => Math.atan2(2 * (q.w * q.z + q.x * q.y), 1 - 2 * (q.y * q.y + q.z * q.z));
type Planar = { x: number; y: number; yaw: number };
const compose = (a: Planar, b: Planar): Planar => ({
  x: a.x + Math.cos(a.yaw) * b.x - Math.sin(a.yaw) * b.y,
  y: a.y + Math.sin(a.yaw) * b.x + Math.cos(a.yaw) * b.y,
  yaw: a.yaw + b.yaw,
});
const planar = (t: Tf): Planar => ({
  x: t.transform.translation.x,
  y: t.transform.translation.y,
  yaw: yawOf(t.transform.rotation),
});

let daemon: Daemon;
let cleanup: () => void;
const seen: Decoded[] = [];
const of = <T>(topic: string) => seen.filter((m) => m.topic === topic).map((m) => m.msg as T);

beforeAll(async () => {
  const dir = tempDir('sim-conventions-');
  cleanup = dir.cleanup;
  const config = defaultConfig();
  config.api.enabled = false;
  config.foxglove.enabled = false;
  config.lakehouse.enabled = false;
  config.sim = { ...config.sim, speed: 1000, paused: true };
  daemon = new Daemon({ config, log: silentLogger(), cwd: dir.path });
  const codec = new MessageCodec(daemon.definitions);
  daemon.bus.subscribe({
    name: 'ros-tools',
    topic: '/**',
    queue: { policy: 'drop-newest', depth: 100_000 },
    handler: (m) => void seen.push({ topic: m.topic, msg: codec.decode(m.type, m.data) }),
  });
  await daemon.start();
  const sim = running(daemon, TurtlebotMazeSim);
  if (!sim) throw new Error('no sim');
  const teleop = daemon.bus.advertise('/cmd_vel', 'geometry_msgs/msg/Twist', { source: 'teleop' });
  sim.unpause();
  // A circle of radius 0.125 m around (0.55, 0.675): inside the start cell, clear of its walls.
  for (let t = 0; t < 6; t += 0.1) {
    teleop.publish(
      codec.encode('geometry_msgs/msg/Twist', { linear: { x: 0.1, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0.8 } }),
    );
    await sim.until(t + 0.1);
  }
  await daemon.close();
  expect(sim.world.collisions).toBe(0);
});

afterAll(() => cleanup?.());

describe('turtlebot-maze as ROS tools read it', () => {
  it('offers the QoS the ROS 2 publishers offer, so a recorded bag replays (and re-latches) like one', () => {
    expect(daemon.bus.topicQos('/tf_static')).toEqual({
      reliability: 'reliable',
      durability: 'transient_local',
      depth: 1,
    });
    expect(daemon.bus.topicQos('/map')).toEqual({ reliability: 'reliable', durability: 'transient_local', depth: 1 });
    // tf2 broadcaster
    expect(daemon.bus.topicQos('/tf')).toEqual({ reliability: 'reliable', durability: 'volatile', depth: 100 });
    // SensorDataQoS
    expect(daemon.bus.topicQos('/scan')).toMatchObject({ reliability: 'best_effort', durability: 'volatile' });
    // ClockQoS
    expect(daemon.bus.topicQos('/clock')).toEqual({ reliability: 'best_effort', durability: 'volatile', depth: 1 });
  });

  it('has the TF tree map -> odom -> base_footprint -> base_link -> base_scan, caster, wheels and camera (REP 105)', () => {
    const statics = of<{ transforms: Tf[] }>('/tf_static');
    expect(statics).toHaveLength(1);
    const edges = statics[0]!.transforms.map((t) => [t.header.frame_id, t.child_frame_id, t.transform.translation]);
    expect(edges).toEqual([
      ['map', 'odom', { x: 0, y: 0, z: 0 }],
      ['base_footprint', 'base_link', { x: 0, y: 0, z: expect.closeTo(0.01, 9) }],
      ['base_link', 'caster_back_link', { x: expect.closeTo(-0.081, 9), y: 0, z: expect.closeTo(-0.004, 9) }],
      ['base_link', 'base_scan', { x: expect.closeTo(-0.032, 9), y: 0, z: expect.closeTo(0.172, 9) }],
      ['base_link', 'camera_link', { x: expect.closeTo(0.07, 9), y: 0, z: expect.closeTo(0.17, 9) }],
      ['camera_link', 'camera_rgb_optical_frame', { x: 0, y: 0, z: 0 }],
    ]);
    const dynamic = of<{ transforms: Tf[] }>('/tf');
    expect(dynamic.length).toBeGreaterThan(150);
    for (const m of dynamic) {
      // The base's odometry, and the wheels robot_state_publisher turns from /joint_states.
      expect(m.transforms.map((t) => [t.header.frame_id, t.child_frame_id])).toEqual([
        ['odom', 'base_footprint'],
        ['base_link', 'wheel_left_link'],
        ['base_link', 'wheel_right_link'],
      ]);
      expect(m.transforms[0]!.transform.translation.z).toBe(0);
    }
  });

  it('stamps on one clock: monotonic, /clock already there, and each /scan with the /tf of its stamp before it', () => {
    let clock = -1n;
    let lastTf = -1n;
    const last: Record<string, bigint> = {};
    let scans = 0;
    for (const { topic, msg } of seen) {
      if (topic === '/clock') {
        clock = ns((msg as { clock: Stamp }).clock);
        continue;
      }
      if (topic !== '/scan' && topic !== '/odom' && topic !== '/tf') continue;
      const header =
        topic === '/tf' ? (msg as { transforms: Tf[] }).transforms[0]!.header : (msg as { header: Header }).header;
      const stamp = ns(header.stamp);
      // A node on sim time has reached a message's stamp when the message arrives.
      expect(stamp, `${topic} stamped ahead of /clock`).toBeLessThanOrEqual(clock);
      if (last[topic] !== undefined) expect(stamp, `${topic} went back`).toBeGreaterThan(last[topic]!);
      last[topic] = stamp;
      if (topic === '/tf') lastTf = stamp;
      if (topic === '/scan') {
        // tf2 (RViz, Nav2's costmap, Foxglove) looks base_scan up at the scan's stamp: without extrapolation.
        expect(lastTf, `no /tf at the scan's stamp ${stamp} ns when it arrived`).toBe(stamp);
        scans++;
      }
    }
    expect(scans).toBe(31); // 5 Hz over 6 s, from t = 0
  });

  it('fills LaserScan as the LDS-01 does: 360 beams over a full turn, 0.12 to 3.5 m, REP 117 out of range', () => {
    const scans = of<Scan>('/scan');
    for (const s of scans) {
      expect(s.header.frame_id).toBe('base_scan');
      expect(s.ranges).toHaveLength(360);
      expect(s.intensities).toHaveLength(0);
      expect(s.angle_min).toBe(0);
      expect(s.angle_increment).toBeCloseTo((2 * Math.PI) / 360, 6);
      // Consumers size the scan as round((max - min) / increment) + 1; it must be the number of ranges.
      expect(Math.round((s.angle_max - s.angle_min) / s.angle_increment) + 1).toBe(s.ranges.length);
      expect(s.angle_max).toBeCloseTo(s.angle_min + 359 * s.angle_increment, 5);
      expect(s.range_min).toBeCloseTo(0.12, 6);
      expect(s.range_max).toBeCloseTo(3.5, 6);
      expect(s.scan_time).toBeCloseTo(0.2, 6);
      expect(s.time_increment).toBe(0); // every beam cast at the stamp: no motion skew to undo
      const invalid = Array.from(s.ranges).filter(
        (r) => !(r >= s.range_min && r <= s.range_max) && Math.abs(r) !== Infinity,
      );
      expect(invalid, 'ranges neither within range_min..range_max nor +-Inf').toEqual([]);
    }
    expect(scans.some((s) => s.ranges.includes(Infinity))).toBe(true);
  });

  it('fills Odometry as Gazebo diff drive does: odom to base_footprint, the twist in base_footprint, a covariance', () => {
    const odoms = of<Odom>('/odom');
    const tfs = of<{ transforms: Tf[] }>('/tf');
    expect(odoms.length).toBe(tfs.length);
    const diag = [1e-5, 1e-5, 1e12, 1e12, 1e12, 1e-3];
    const expected = Array.from({ length: 36 }, (_, i) => (i % 7 === 0 ? diag[i / 7]! : 0));
    let turning = 0;
    odoms.forEach((o, i) => {
      expect(o.header.frame_id).toBe('odom');
      expect(o.child_frame_id).toBe('base_footprint');
      expect(Array.from(o.pose.covariance)).toEqual(expected);
      expect(Array.from(o.twist.covariance)).toEqual(expected);
      const q = o.pose.pose.orientation;
      expect(q.x).toBe(0);
      expect(q.y).toBe(0);
      expect(Math.hypot(q.x, q.y, q.z, q.w)).toBeCloseTo(1, 12);
      // The pose is the /tf of the same stamp, bit for bit.
      const tf = tfs[i]!.transforms[0]!;
      expect(ns(tf.header.stamp)).toBe(ns(o.header.stamp));
      expect(tf.transform.translation).toEqual(o.pose.pose.position);
      expect(tf.transform.rotation).toEqual(q);
      if (i === 0) return;
      // The twist is in the child frame: forward along the heading, none sideways, whatever the heading.
      const prev = odoms[i - 1]!;
      const dt = Number(ns(o.header.stamp) - ns(prev.header.stamp)) / 1e9;
      const yaw = yawOf(prev.pose.pose.orientation);
      const dx = o.pose.pose.position.x - prev.pose.pose.position.x;
      const dy = o.pose.pose.position.y - prev.pose.pose.position.y;
      if (o.twist.twist.linear.x < 0.09) return; // still accelerating
      turning++;
      const forward = (Math.cos(yaw) * dx + Math.sin(yaw) * dy) / dt;
      const sideways = (-Math.sin(yaw) * dx + Math.cos(yaw) * dy) / dt;
      expect(o.twist.twist.linear.y).toBe(0);
      expect(forward).toBeCloseTo(o.twist.twist.linear.x, 1); // wheel slip aside
      expect(Math.abs(sideways)).toBeLessThan(0.1 * o.twist.twist.linear.x); // the arc's chord, not a sideways twist
    });
    expect(turning).toBeGreaterThan(100);
    // The circle turned the heading through every quadrant, where an odom-frame twist would show sideways motion.
    const yaws = odoms.map((o) => yawOf(o.pose.pose.orientation));
    expect(Math.min(...yaws)).toBeLessThan(-2.5);
    expect(Math.max(...yaws)).toBeGreaterThan(2.5);
  });

  it('fills OccupancyGrid as map_server does, and every scan hit lands on a wall of it through the TF tree', () => {
    const [map] = of<Grid>('/map');
    expect(map!.header.frame_id).toBe('map');
    const { width, height, resolution } = map!.info;
    expect(map!.data).toHaveLength(width * height);
    expect(resolution).toBeCloseTo(0.05, 6);
    expect(map!.info.origin.orientation).toEqual({ x: 0, y: 0, z: 0, w: 1 });
    expect(map!.data.every((v) => v === -1 || (v >= 0 && v <= 100))).toBe(true);

    // What RViz does to draw /scan over /map: map -> odom -> base_footprint -> base_link -> base_scan at the
    // scan's stamp, then each beam at angle_min + i * increment, counter-clockwise (REP 103), in row-major cells.
    const statics = new Map(
      of<{ transforms: Tf[] }>('/tf_static')[0]!.transforms.map((t) => [t.child_frame_id, planar(t)]),
    );
    const tfAt = new Map(
      of<{ transforms: Tf[] }>('/tf').map((m) => [ns(m.transforms[0]!.header.stamp), planar(m.transforms[0]!)]),
    );
    const { x: ox, y: oy } = map!.info.origin.position;
    const occupied = (x: number, y: number) => {
      const c = Math.floor((x - ox) / resolution);
      const r = Math.floor((y - oy) / resolution);
      return c >= 0 && r >= 0 && c < width && r < height && map!.data[r * width + c] === 100;
    };
    const nearWall = (x: number, y: number) =>
      [-1, 0, 1].some((i) => [-1, 0, 1].some((j) => occupied(x + i * resolution, y + j * resolution)));
    let hits = 0;
    const offWalls: string[] = [];
    for (const s of of<Scan>('/scan')) {
      const base = tfAt.get(ns(s.header.stamp))!;
      const sensor = compose(
        compose(compose(statics.get('odom')!, base), statics.get('base_link')!),
        statics.get('base_scan')!,
      );
      s.ranges.forEach((r, i) => {
        if (!Number.isFinite(r)) return;
        const a = s.angle_min + i * s.angle_increment;
        const p = compose(sensor, { x: r * Math.cos(a), y: r * Math.sin(a), yaw: 0 });
        if (nearWall(p.x, p.y)) hits++;
        else
          offWalls.push(`beam ${i} of the scan at ${ns(s.header.stamp)} ns at (${p.x.toFixed(3)}, ${p.y.toFixed(3)})`);
      });
    }
    expect(offWalls.length, `off every wall: ${offWalls.slice(0, 3).join('; ')}`).toBe(0);
    expect(hits).toBeGreaterThan(5000);
  });
});
