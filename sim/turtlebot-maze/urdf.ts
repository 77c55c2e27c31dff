import { CAMERA_MOUNT, CAMERA_OPTICAL_FRAME } from './camera.ts';
import { LDS_MOUNT } from './lidar.ts';
import { BURGER } from './robot.ts';

/**
 * The sim's burger as a URDF: the links and joints a TurtleBot3 burger's turtlebot3_description has, by the
 * same names, sized from the sim's own model (BURGER's footprint and wheels, LDS_MOUNT), drawn with boxes,
 * cylinders and spheres (no meshes: a viewer needs nothing but the XML). The static TF and the wheels' TF the
 * sim publishes come from these joints too, so the URDF, /tf_static and /tf cannot disagree.
 */

export type Vec3 = readonly [number, number, number];
export type Quaternion = { x: number; y: number; z: number; w: number };
export type Geometry =
  { box: Vec3 } | { cylinder: { radius: number; length: number } } | { sphere: { radius: number } };
type Shape = { geometry: Geometry; xyz?: Vec3; rpy?: Vec3 };
type Visual = Shape & { material: keyof typeof MATERIALS };
export type UrdfLink = { name: string; visuals: readonly Visual[]; collision?: Shape };
export type UrdfJoint = {
  name: string;
  type: 'fixed' | 'continuous';
  parent: string;
  child: string;
  xyz: Vec3;
  rpy: Vec3;
  axis?: Vec3;
};
export type RobotModel = { name: string; links: readonly UrdfLink[]; joints: readonly UrdfJoint[] };

export const MATERIALS = {
  body: '0.25 0.25 0.25 1',
  tire: '0.1 0.1 0.1 1',
  marker: '0.95 0.6 0.1 1',
  lidar: '0.15 0.35 0.75 1',
  camera: '0.85 0.85 0.85 1',
} as const;

/** base_footprint -> base_link: the base plate 1 cm above the floor (turtlebot3_description's base_joint). */
const BASE_Z = 0.01;
const WHEEL_WIDTH = 0.018;
/** The ball caster under the back (caster_back_joint), touching the floor. */
const CASTER: Vec3 = [-0.081, 0, -0.004];
const DECK = { bottom: 0.06, top: 0.15 };
/** The camera's housing, centred on camera_link: its lens at the front face. */
const CAMERA_BOX: Vec3 = [0.02, 0.05, 0.04];
// REP 103's optical frame (z forward, x right, y down) from camera_link (x forward, z up).
const OPTICAL_RPY: Vec3 = [-Math.PI / 2, 0, -Math.PI / 2];
// A wheel's frame turned so that its z is the axle (pointing left), as in turtlebot3_description: a positive
// joint angle rolls either wheel forward.
const AXLE_RPY: Vec3 = [-Math.PI / 2, 0, 0];
/** Micrometres: 0.033 - 0.01 is 0.023, not 0.023000000000000003, in the XML and on /tf alike. */
const um = (v: number) => Math.round(v * 1e6) / 1e6;

const wheel = (name: string): UrdfLink => ({
  name,
  visuals: [
    { geometry: { cylinder: { radius: BURGER.wheelRadius, length: WHEEL_WIDTH } }, material: 'tire' },
    // A bar across the tire, so a viewer shows the wheel turn (a plain cylinder looks the same at any angle).
    { geometry: { box: [um(1.6 * BURGER.wheelRadius), 0.006, um(WHEEL_WIDTH + 0.002)] }, material: 'marker' },
  ],
  collision: { geometry: { cylinder: { radius: BURGER.wheelRadius, length: WHEEL_WIDTH } } },
});

const wheelJoint = (side: 'left' | 'right', y: number): UrdfJoint => ({
  name: `wheel_${side}_joint`,
  type: 'continuous',
  parent: 'base_link',
  child: `wheel_${side}_link`,
  xyz: [0, um(y), um(BURGER.wheelRadius - BASE_Z)], // the axle at wheel height: the tire touches the floor
  rpy: AXLE_RPY,
  axis: [0, 0, 1],
});

export const BURGER_MODEL: RobotModel = {
  name: 'turtlebot3_burger',
  links: [
    { name: 'base_footprint', visuals: [] },
    {
      name: 'base_link',
      visuals: [
        // The chassis between the wheels, and the deck above them as wide as the footprint: the whole body
        // stays within the circle the sim collides with, so the model never looks as if it entered a wall.
        {
          geometry: { box: [0.14, um(BURGER.wheelSeparation - WHEEL_WIDTH - 0.006), 0.05] },
          xyz: [0, 0, 0.03],
          material: 'body',
        },
        {
          geometry: { cylinder: { radius: BURGER.radius, length: um(DECK.top - DECK.bottom) } },
          xyz: [0, 0, um((DECK.top + DECK.bottom) / 2)],
          material: 'body',
        },
      ],
      // What the sim collides with: a circle of the footprint's radius around base_footprint, floor to deck.
      collision: {
        geometry: { cylinder: { radius: BURGER.radius, length: um(DECK.top + BASE_Z) } },
        xyz: [0, 0, um((DECK.top - BASE_Z) / 2)],
      },
    },
    wheel('wheel_left_link'),
    wheel('wheel_right_link'),
    {
      name: 'caster_back_link',
      visuals: [{ geometry: { sphere: { radius: um(BASE_Z + CASTER[2]) } }, material: 'tire' }],
    },
    {
      name: 'base_scan',
      visuals: [{ geometry: { cylinder: { radius: 0.035, length: 0.04 } }, xyz: [0, 0, -0.01], material: 'lidar' }],
    },
    {
      name: 'camera_link',
      visuals: [{ geometry: { box: CAMERA_BOX }, xyz: [-CAMERA_BOX[0] / 2, 0, 0], material: 'camera' }],
    },
    { name: CAMERA_OPTICAL_FRAME, visuals: [] },
  ],
  joints: [
    {
      name: 'base_joint',
      type: 'fixed',
      parent: 'base_footprint',
      child: 'base_link',
      xyz: [0, 0, BASE_Z],
      rpy: [0, 0, 0],
    },
    wheelJoint('left', BURGER.wheelSeparation / 2),
    wheelJoint('right', -BURGER.wheelSeparation / 2),
    {
      name: 'caster_back_joint',
      type: 'fixed',
      parent: 'base_link',
      child: 'caster_back_link',
      xyz: CASTER,
      rpy: AXLE_RPY,
    },
    {
      name: 'scan_joint',
      type: 'fixed',
      parent: 'base_link',
      child: 'base_scan',
      xyz: [LDS_MOUNT.x, LDS_MOUNT.y, LDS_MOUNT.z],
      rpy: [0, 0, 0],
    },
    {
      name: 'camera_joint',
      type: 'fixed',
      parent: 'base_link',
      child: 'camera_link',
      xyz: [CAMERA_MOUNT.x, CAMERA_MOUNT.y, um(CAMERA_MOUNT.z - BASE_Z)], // CAMERA_MOUNT is in base_footprint
      rpy: [0, 0, 0],
    },
    {
      name: 'camera_rgb_optical_joint',
      type: 'fixed',
      parent: 'camera_link',
      child: CAMERA_OPTICAL_FRAME,
      xyz: [0, 0, 0],
      rpy: OPTICAL_RPY,
    },
  ],
};

export const WHEEL_JOINTS = {
  left: BURGER_MODEL.joints.find((j) => j.name === 'wheel_left_joint')!,
  right: BURGER_MODEL.joints.find((j) => j.name === 'wheel_right_joint')!,
};

/** URDF's fixed-axis roll, pitch, yaw (Rz(yaw) Ry(pitch) Rx(roll)) as a quaternion. */
export function rpyToQuaternion([roll, pitch, yaw]: Vec3): Quaternion {
  const [cr, sr] = [Math.cos(roll / 2), Math.sin(roll / 2)];
  const [cp, sp] = [Math.cos(pitch / 2), Math.sin(pitch / 2)];
  const [cy, sy] = [Math.cos(yaw / 2), Math.sin(yaw / 2)];
  return {
    x: sr * cp * cy - cr * sp * sy,
    y: cr * sp * cy + sr * cp * sy,
    z: cr * cp * sy - sr * sp * cy,
    w: cr * cp * cy + sr * sp * sy,
  };
}

function multiply(a: Quaternion, b: Quaternion): Quaternion {
  return {
    x: a.w * b.x + a.x * b.w + a.y * b.z - a.z * b.y,
    y: a.w * b.y - a.x * b.z + a.y * b.w + a.z * b.x,
    z: a.w * b.z + a.x * b.y - a.y * b.x + a.z * b.w,
    w: a.w * b.w - a.x * b.x - a.y * b.y - a.z * b.z,
  };
}

/**
 * parent -> child of a joint at `position` (rad, for a continuous joint), as robot_state_publisher computes
 * it: the joint's origin, then the rotation by `position` about its axis.
 */
export function jointTransform(
  joint: UrdfJoint,
  position = 0,
): { translation: { x: number; y: number; z: number }; rotation: Quaternion } {
  const [x, y, z] = joint.xyz;
  const origin = rpyToQuaternion(joint.rpy);
  if (joint.type === 'fixed' || !joint.axis) return { translation: { x, y, z }, rotation: origin };
  const [ax, ay, az] = joint.axis;
  const s = Math.sin(position / 2);
  return {
    translation: { x, y, z },
    rotation: multiply(origin, { x: ax * s, y: ay * s, z: az * s, w: Math.cos(position / 2) }),
  };
}

const attrs = (v: Vec3) => v.map(String).join(' ');

function originXml(xyz: Vec3 | undefined, rpy: Vec3 | undefined): string {
  if (!xyz && !rpy) return '';
  return `<origin xyz="${attrs(xyz ?? [0, 0, 0])}" rpy="${attrs(rpy ?? [0, 0, 0])}"/>`;
}

function geometryXml(g: Geometry): string {
  if ('box' in g) return `<geometry><box size="${attrs(g.box)}"/></geometry>`;
  if ('cylinder' in g)
    return `<geometry><cylinder radius="${g.cylinder.radius}" length="${g.cylinder.length}"/></geometry>`;
  return `<geometry><sphere radius="${g.sphere.radius}"/></geometry>`;
}

/** The model as URDF XML, what robot_state_publisher publishes on /robot_description. */
export function urdfXml(model: RobotModel): string {
  const lines = ['<?xml version="1.0"?>', `<robot name="${model.name}">`];
  for (const [name, rgba] of Object.entries(MATERIALS))
    lines.push(`  <material name="${name}"><color rgba="${rgba}"/></material>`);
  for (const link of model.links) {
    const parts = link.visuals.map(
      (v) =>
        `    <visual>${originXml(v.xyz, v.rpy)}${geometryXml(v.geometry)}<material name="${v.material}"/></visual>`,
    );
    if (link.collision)
      parts.push(
        `    <collision>${originXml(link.collision.xyz, link.collision.rpy)}${geometryXml(link.collision.geometry)}</collision>`,
      );
    lines.push(
      parts.length
        ? [`  <link name="${link.name}">`, ...parts, '  </link>'].join('\n')
        : `  <link name="${link.name}"/>`,
    );
  }
  for (const j of model.joints) {
    lines.push(`  <joint name="${j.name}" type="${j.type}">`);
    lines.push(`    <parent link="${j.parent}"/>`, `    <child link="${j.child}"/>`, `    ${originXml(j.xyz, j.rpy)}`);
    if (j.axis) lines.push(`    <axis xyz="${attrs(j.axis)}"/>`);
    lines.push('  </joint>');
  }
  lines.push('</robot>', '');
  return lines.join('\n');
}

export const BURGER_URDF = urdfXml(BURGER_MODEL);
