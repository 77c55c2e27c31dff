import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { defaultConfig } from '../../daemon/config/load.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { silentLogger } from '../../daemon/log.ts';
import { BURGER, BURGER_URDF, LDS_MOUNT, TurtlebotMazeSim } from '../../sim/turtlebot-maze/index.ts';
import { tempDir } from '../helpers/cli.ts';
import {
  apply,
  jointFrame,
  linkFrame,
  parseUrdf,
  quaternionMatrix,
  rpyMatrix,
  type Mat3,
  type Shape,
  type Urdf,
  type Vec3,
} from '../helpers/urdf.ts';
import { waitFor } from '../helpers/wait.ts';
import { running } from '../helpers/daemon.ts';

/**
 * What RViz's RobotModel display and Foxglove's 3D panel need to draw the sim's burger, as a TurtleBot3
 * bringup gives it (robot_state_publisher + the base): the URDF latched on /robot_description, the wheels on
 * /joint_states, the wheel frames on /tf and the fixed ones on /tf_static, one TF tree from map down.
 */

type Stamp = { sec: number; nanosec: number };
type Quat = { x: number; y: number; z: number; w: number };
type Tf = {
  header: { stamp: Stamp; frame_id: string };
  child_frame_id: string;
  transform: { translation: { x: number; y: number; z: number }; rotation: Quat };
};
type JointState = {
  header: { stamp: Stamp };
  name: string[];
  position: Float64Array;
  velocity: Float64Array;
  effort: Float64Array;
};
type Odom = {
  header: { stamp: Stamp };
  pose: { pose: { orientation: Quat; position: { x: number; y: number } } };
  twist: { twist: { linear: { x: number }; angular: { z: number } } };
};

const ns = (s: Stamp) => BigInt(s.sec) * 1_000_000_000n + BigInt(s.nanosec);
const yawOf = (q: Quat) => Math.atan2(2 * (q.w * q.z + q.x * q.y), 1 - 2 * (q.y * q.y + q.z * q.z));
const wrap = (a: number) => Math.atan2(Math.sin(a), Math.cos(a));
const maxDiff = (a: Mat3, b: Mat3) => Math.max(...a.flatMap((row, i) => row.map((v, j) => Math.abs(v - b[i]![j]!))));

describe('the burger URDF', () => {
  const urdf = parseUrdf(BURGER_URDF);
  const joint = (name: string) => urdf.joints.find((j) => j.name === name)!;
  const cylinder = (s: Shape | undefined) => (s && 'cylinder' in s.geometry ? s.geometry.cylinder : undefined);

  it('is one tree from base_footprint with TurtleBot3 frame names, continuous wheel joints about their axle', () => {
    expect(urdf.root).toBe('base_footprint');
    expect(urdf.joints.map((j) => [j.parent, j.child, j.type])).toEqual(
      expect.arrayContaining([
        ['base_footprint', 'base_link', 'fixed'],
        ['base_link', 'base_scan', 'fixed'],
        ['base_link', 'wheel_left_link', 'continuous'],
        ['base_link', 'wheel_right_link', 'continuous'],
      ]),
    );
    for (const side of ['left', 'right']) {
      const j = joint(`wheel_${side}_joint`);
      // The axis in base_link is the axle (+y, to the left): a positive angle rolls the robot forward.
      const axle = apply(jointFrame(j).r, j.axis!);
      expect(axle[0]).toBeCloseTo(0, 12);
      expect(axle[1]).toBeCloseTo(1, 12);
      expect(axle[2]).toBeCloseTo(0, 12);
    }
  });

  it('has the sim’s dimensions: wheel radius and separation, lidar mount, footprint radius; wheels on the floor', () => {
    const left = joint('wheel_left_joint');
    const right = joint('wheel_right_joint');
    expect(left.xyz[1] - right.xyz[1]).toBeCloseTo(BURGER.wheelSeparation, 12);
    for (const side of ['wheel_left_link', 'wheel_right_link']) {
      const link = urdf.links.get(side)!;
      expect(cylinder(link.visuals[0])?.radius).toBe(BURGER.wheelRadius);
      expect(cylinder(link.collisions[0])?.radius).toBe(BURGER.wheelRadius);
      // The axle at wheel height above base_footprint: the tire touches the floor, no lower.
      expect(linkFrame(urdf, side).t[2]).toBeCloseTo(BURGER.wheelRadius, 12);
    }
    expect(joint('scan_joint').xyz).toEqual([LDS_MOUNT.x, LDS_MOUNT.y, LDS_MOUNT.z]);
    // What the sim collides with: the footprint circle around base_footprint.
    const body = urdf.links.get('base_link')!.collisions[0]!;
    expect(cylinder(body)?.radius).toBe(BURGER.radius);
    expect(apply(linkFrame(urdf, 'base_link').r, body.xyz).slice(0, 2)).toEqual([0, 0]);
  });

  it('draws every part within the footprint circle, above the floor, at any wheel angle', () => {
    // Corners of boxes and rims of cylinders and spheres, in base_footprint: a model wider than the circle
    // the sim collides with would look as if it went into the walls it only touches.
    const outside: string[] = [];
    for (const angle of [0, 0.3, Math.PI / 4, 2]) {
      const positions = { wheel_left_joint: angle, wheel_right_joint: -angle };
      for (const link of urdf.links.values()) {
        const frame = linkFrame(urdf, link.name, positions);
        for (const v of link.visuals) {
          for (const p of surfacePoints(v)) {
            const q = apply(frame.r, p);
            const [x, y, z] = [frame.t[0] + q[0], frame.t[1] + q[1], frame.t[2] + q[2]];
            if (Math.hypot(x, y) > BURGER.radius + 1e-9 || z < -1e-9)
              outside.push(`${link.name} at (${x.toFixed(4)}, ${y.toFixed(4)}, ${z.toFixed(4)})`);
          }
        }
      }
    }
    expect(outside.slice(0, 5)).toEqual([]);
  });

  it('is checked by a reader that refuses a URDF robot_state_publisher would reject or draw wrong', () => {
    const broken: [string, string, string | RegExp][] = [
      ['<link name="base_scan">', '<link name="base_link">', 'link base_link twice'],
      ['<child link="wheel_left_link"/>', '<child link="wheel_left"/>', 'link "wheel_left" is not defined'],
      [
        '<parent link="base_footprint"/>',
        '<parent link="base_scan"/>',
        'not reached from base_footprint (detached, or in a cycle): base_link',
      ],
      ['type="continuous"', 'type="spinning"', 'type "spinning" is not one of'],
      ['<axis xyz="0 0 1"/>', '', 'needs a non-zero <axis>'],
      ['<cylinder radius="0.035" length="0.04"/>', '<mesh filename="package://lds.stl"/>', 'shape <mesh>'],
      ['</link>', '</lnk>', '</link> expected'],
      ['rpy="0 0 0"', 'rpy="0 0"', 'expected 3 numbers'],
      ['<material name="body"/>', '<material name="paint"/>', 'material paint is not defined'],
    ];
    for (const [from, to, error] of broken) {
      expect(BURGER_URDF).toContain(from);
      expect(() => parseUrdf(BURGER_URDF.replace(from, to)), `${from} -> ${to}`).toThrow(error);
    }
    // Two roots: the scan joint gone leaves base_scan detached.
    expect(() => parseUrdf(BURGER_URDF.replace(/<joint name="scan_joint"[\s\S]*?<\/joint>/, ''))).toThrow(
      'expected one root link, got 2',
    );
  });
});

/** Points on a visual's surface, in its link's frame. */
function surfacePoints(v: Shape): Vec3[] {
  const local: Vec3[] = [];
  const g = v.geometry;
  if ('box' in g) {
    const [a, b, c] = g.box.map((s) => s / 2) as Vec3;
    for (const sx of [-1, 1]) for (const sy of [-1, 1]) for (const sz of [-1, 1]) local.push([sx * a, sy * b, sz * c]);
  } else if ('cylinder' in g) {
    const { radius: r, length } = g.cylinder;
    for (const z of [-length / 2, length / 2])
      for (let k = 0; k < 72; k++) local.push([r * Math.cos((k * Math.PI) / 36), r * Math.sin((k * Math.PI) / 36), z]);
  } else {
    const r = g.sphere.radius;
    for (let k = 0; k < 72; k++) {
      const [c, s] = [r * Math.cos((k * Math.PI) / 36), r * Math.sin((k * Math.PI) / 36)];
      local.push([c, s, 0], [c, 0, s], [0, c, s]);
    }
  }
  const r = rpyMatrix(v.rpy);
  return local.map((p) => {
    const q = apply(r, p);
    return [q[0] + v.xyz[0], q[1] + v.xyz[1], q[2] + v.xyz[2]];
  });
}

describe('the robot model on the bus', () => {
  let daemon: Daemon;
  let cleanup: () => void;
  let urdf: Urdf;
  const seen: { topic: string; msg: unknown }[] = [];
  const late: string[] = [];
  const of = <T>(topic: string) => seen.filter((m) => m.topic === topic).map((m) => m.msg as T);
  // Phases of the drive, in sim seconds: a turn on the spot, then a circle.
  const SPIN = { until: 1.5, linear: 0, angular: 1.5 };
  const CIRCLE = { until: 5, linear: 0.1, angular: 0.8 };

  beforeAll(async () => {
    const dir = tempDir('sim-robot-model-');
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
      handler: (m) =>
        void (
          m.topic !== '/clock' &&
          m.topic !== '/scan' &&
          seen.push({ topic: m.topic, msg: codec.decode(m.type, m.data) })
        ),
    });
    await daemon.start();
    const sim = running(daemon, TurtlebotMazeSim);
    if (!sim) throw new Error('no sim');
    const teleop = daemon.bus.advertise('/cmd_vel', 'geometry_msgs/msg/Twist', { source: 'teleop' });
    sim.unpause();
    for (let t = 0; t < CIRCLE.until - 1e-9; t += 0.1) {
      const { linear, angular } = t < SPIN.until - 1e-9 ? SPIN : CIRCLE;
      teleop.publish(
        codec.encode('geometry_msgs/msg/Twist', {
          linear: { x: linear, y: 0, z: 0 },
          angular: { x: 0, y: 0, z: angular },
        }),
      );
      await sim.until(t + 0.1);
    }
    expect(sim.world.collisions).toBe(0);
    sim.pause(); // at 5 s: what was published is fixed by sim time, however long the late subscriber takes
    // A viewer that connects once the robot is running: the URDF is latched for it.
    daemon.bus.subscribe({
      name: 'rviz',
      topic: '/robot_description',
      handler: (m) => void late.push(codec.decode<{ data: string }>(m.type, m.data).data),
    });
    await waitFor(() => late.length > 0, 'the latched /robot_description');
    await daemon.close();
    urdf = parseUrdf(of<{ data: string }>('/robot_description')[0]!.data);
  });

  afterAll(() => cleanup?.());

  it('latches the URDF on /robot_description, as robot_state_publisher does: a late subscriber gets it', () => {
    expect(daemon.bus.topicQos('/robot_description')).toEqual({
      reliability: 'reliable',
      durability: 'transient_local',
      depth: 1,
    });
    const stats = daemon.bus.stats().find((s) => s.topic === '/robot_description');
    expect(stats).toMatchObject({ type: 'std_msgs/msg/String', count: 1 });
    expect(late).toEqual([BURGER_URDF]);
  });

  it('publishes /joint_states for the two wheels at 30 Hz, with the stamps of /odom', () => {
    const states = of<JointState>('/joint_states');
    const odoms = of<Odom>('/odom');
    expect(daemon.bus.topicQos('/joint_states')).toEqual(daemon.bus.topicQos('/odom'));
    expect(states.length).toBe(odoms.length);
    expect(states.length).toBe(151); // 30 Hz over 5 s, from t = 0
    states.forEach((s, i) => {
      expect(ns(s.header.stamp)).toBe(ns(odoms[i]!.header.stamp));
      expect(s.name).toEqual(['wheel_left_joint', 'wheel_right_joint']);
      expect(s.position).toHaveLength(2);
      expect(s.velocity).toHaveLength(2);
      expect(s.effort).toHaveLength(0);
    });
  });

  it('turns each wheel at the speed the kinematics give, and its angle is the integral of that speed', () => {
    // Wheel radius and separation as the URDF says (the sim's, see above).
    const left = urdf.joints.find((j) => j.name === 'wheel_left_joint')!;
    const right = urdf.joints.find((j) => j.name === 'wheel_right_joint')!;
    const separation = left.xyz[1] - right.xyz[1];
    const radius = (urdf.links.get('wheel_left_link')!.visuals[0]!.geometry as { cylinder: { radius: number } })
      .cylinder.radius;
    const states = of<JointState>('/joint_states');
    const odoms = of<Odom>('/odom');
    let steady = 0;
    states.forEach((s, i) => {
      const { linear, angular } = { linear: odoms[i]!.twist.twist.linear.x, angular: odoms[i]!.twist.twist.angular.z };
      expect(s.velocity[0]).toBeCloseTo((linear - (angular * separation) / 2) / radius, 12);
      expect(s.velocity[1]).toBeCloseTo((linear + (angular * separation) / 2) / radius, 12);
      if (i === 0 || s.velocity[0] !== states[i - 1]!.velocity[0] || s.velocity[1] !== states[i - 1]!.velocity[1])
        return;
      // At a steady speed, the angle grows by speed x time between two messages.
      const dt = Number(ns(s.header.stamp) - ns(states[i - 1]!.header.stamp)) / 1e9;
      for (const w of [0, 1]) expect(s.position[w]! - states[i - 1]!.position[w]!).toBeCloseTo(s.velocity[w]! * dt, 12);
      steady++;
    });
    expect(steady).toBeGreaterThan(100);
  });

  it('turns the wheels as far as the robot went: r (L + R) / 2 the path, r (R - L) / separation the turn', () => {
    const separation = BURGER.wheelSeparation;
    const r = BURGER.wheelRadius;
    const states = of<JointState>('/joint_states');
    const odoms = of<Odom>('/odom');
    const at = (t: number) => Math.round(t * 30);
    // The path and the turn over the ground from /odom (the ground truth, wheel slip included).
    const travel = (from: number, to: number) => {
      let path = 0;
      let turn = 0;
      for (let i = from + 1; i <= to; i++) {
        const [a, b] = [odoms[i - 1]!.pose.pose, odoms[i]!.pose.pose];
        path += Math.hypot(b.position.x - a.position.x, b.position.y - a.position.y);
        turn += wrap(yawOf(b.orientation) - yawOf(a.orientation));
      }
      return { path, turn };
    };
    const wheels = (from: number, to: number) => {
      const [dl, dr] = [0, 1].map((w) => states[to]!.position[w]! - states[from]!.position[w]!) as [number, number];
      return { path: (r * (dl + dr)) / 2, turn: (r * (dr - dl)) / separation, dl, dr };
    };
    // On the spot: the wheels turn opposite ways, equally, and the robot turns by what they rolled.
    const spin = wheels(0, at(SPIN.until));
    expect(spin.dl).toBeLessThan(-4); // 1.5 rad/s less the ramp, 0.08 m from the centre, on 0.033 m wheels
    expect(spin.dl).toBeCloseTo(-spin.dr, 9);
    expect(travel(0, at(SPIN.until)).path).toBeLessThan(1e-9);
    // Wheel slip (3 % of the motion, drawn from the seed) is all that sets the ground apart from the wheels.
    expect(spin.turn / travel(0, at(SPIN.until)).turn).toBeCloseTo(1, 1);
    const circle = wheels(at(SPIN.until), states.length - 1);
    const ground = travel(at(SPIN.until), states.length - 1);
    expect(ground.path).toBeGreaterThan(0.25);
    expect(circle.path / ground.path).toBeCloseTo(1, 1);
    expect(circle.turn / ground.turn).toBeCloseTo(1, 1);
  });

  it('puts the wheel frames on /tf as robot_state_publisher computes them from the URDF and /joint_states', () => {
    const states = new Map(of<JointState>('/joint_states').map((s) => [ns(s.header.stamp), s]));
    const tfs = of<{ transforms: Tf[] }>('/tf');
    expect(tfs.length).toBe(states.size);
    let turned = 0;
    for (const { transforms } of tfs) {
      const stamp = ns(transforms[0]!.header.stamp);
      const state = states.get(stamp)!;
      expect(state, `no /joint_states at ${stamp} ns`).toBeDefined();
      for (const t of transforms.slice(1)) {
        expect(ns(t.header.stamp)).toBe(stamp);
        const joint = urdf.joints.find((j) => j.child === t.child_frame_id)!;
        expect(t.header.frame_id).toBe(joint.parent);
        const expected = jointFrame(joint, state.position[state.name.indexOf(joint.name)]);
        expect(Object.values(t.transform.translation)).toEqual(expected.t);
        expect(maxDiff(quaternionMatrix(t.transform.rotation), expected.r)).toBeLessThan(1e-9);
        if (Math.abs(t.transform.rotation.w) < 0.5) turned++;
      }
    }
    expect(turned).toBeGreaterThan(10); // the wheels were seen well past a quarter turn, not only near 0
  });

  it('makes one TF tree from map to every URDF link, each frame from one publisher', () => {
    const statics = of<{ transforms: Tf[] }>('/tf_static');
    expect(statics).toHaveLength(1);
    const parentOf = new Map<string, string>();
    for (const t of [...statics[0]!.transforms, ...of<{ transforms: Tf[] }>('/tf')[0]!.transforms]) {
      expect(parentOf.has(t.child_frame_id), `${t.child_frame_id} published twice`).toBe(false);
      parentOf.set(t.child_frame_id, t.header.frame_id);
    }
    for (const j of urdf.joints) expect(parentOf.get(j.child), j.child).toBe(j.parent);
    for (const frame of parentOf.keys()) {
      const chain = [frame];
      while (parentOf.has(chain.at(-1)!)) chain.push(parentOf.get(chain.at(-1)!)!);
      expect(chain.at(-1), chain.join(' <- ')).toBe('map');
    }
    // The static ones are the URDF's fixed joints, where the URDF puts them.
    for (const t of statics[0]!.transforms.slice(1)) {
      const joint = urdf.joints.find((j) => j.child === t.child_frame_id)!;
      expect(joint.type).toBe('fixed');
      expect(Object.values(t.transform.translation)).toEqual(joint.xyz);
      expect(maxDiff(quaternionMatrix(t.transform.rotation), jointFrame(joint).r)).toBeLessThan(1e-12);
    }
  });
});
