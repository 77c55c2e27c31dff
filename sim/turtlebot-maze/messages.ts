import type { Grid } from '../../daemon/navigation/index.ts';
import type { Pose2D } from '../../daemon/navigation/index.ts';
import { CAMERA_OPTICAL_FRAME, type Camera } from './camera.ts';
import type { WheelJoints } from './robot.ts';
import { BURGER_MODEL, jointTransform, WHEEL_JOINTS, type UrdfJoint } from './urdf.ts';
import type { WorldScan } from './world.ts';

/** ROS 2 message objects (as @foxglove/rosmsg2-serialization writes them) for what the sim publishes. */

type RosTime = { sec: number; nanosec: number };

/** Sim seconds as builtin_interfaces/Time, the way a ROS 2 sim with use_sim_time stamps (from 0). */
export function simStamp(seconds: number): RosTime {
  const ns = Math.round(seconds * 1e9);
  return { sec: Math.floor(ns / 1e9), nanosec: ns % 1e9 };
}

export function yawToQuaternion(yaw: number): { x: number; y: number; z: number; w: number } {
  return { x: 0, y: 0, z: Math.sin(yaw / 2), w: Math.cos(yaw / 2) };
}

/**
 * The covariance Gazebo's diff drive (gazebo_ros_diff_drive, which the TurtleBot3 Gazebo models use) puts on
 * pose and twist alike: x, y and yaw known well (1e-5 m^2, 1e-5 m^2, 1e-3 rad^2), and z, roll and pitch, which
 * planar odometry does not measure, 1e12 ("ignore this"). All zeros would claim a perfect fix in every axis:
 * robot_localization and AMCL read the matrix, and a zero one is a certainty no odometry has.
 */
const ODOM_COVARIANCE = (() => {
  const c = new Float64Array(36);
  [1e-5, 1e-5, 1e12, 1e12, 1e12, 1e-3].forEach((v, i) => (c[i * 7] = v));
  return c;
})();

export function laserScanMessage(scan: WorldScan) {
  return {
    header: { stamp: simStamp(scan.stamp), frame_id: scan.frameId },
    angle_min: scan.angleMin,
    angle_max: scan.angleMax,
    angle_increment: scan.angleIncrement,
    time_increment: scan.timeIncrement,
    scan_time: scan.scanTime,
    range_min: scan.rangeMin,
    range_max: scan.rangeMax,
    ranges: scan.ranges,
    intensities: new Float32Array(0),
  };
}

export function odometryMessage(time: number, pose: Pose2D, twist: { linear: number; angular: number }) {
  return {
    header: { stamp: simStamp(time), frame_id: 'odom' },
    child_frame_id: 'base_footprint',
    pose: {
      pose: { position: { x: pose.x, y: pose.y, z: 0 }, orientation: yawToQuaternion(pose.yaw) },
      covariance: ODOM_COVARIANCE,
    },
    twist: {
      twist: { linear: { x: twist.linear, y: 0, z: 0 }, angular: { x: 0, y: 0, z: twist.angular } },
      covariance: ODOM_COVARIANCE,
    },
  };
}

function transform(time: number, parent: string, child: string, x: number, y: number, z: number, yaw: number) {
  return {
    header: { stamp: simStamp(time), frame_id: parent },
    child_frame_id: child,
    transform: { translation: { x, y, z }, rotation: yawToQuaternion(yaw) },
  };
}

/** A URDF joint's transform at `position`, as robot_state_publisher broadcasts it. */
function jointTf(time: number, joint: UrdfJoint, position?: number) {
  return {
    header: { stamp: simStamp(time), frame_id: joint.parent },
    child_frame_id: joint.child,
    transform: jointTransform(joint, position),
  };
}

/**
 * What a TurtleBot3 broadcasts on /tf, in one message: odom -> base_footprint (its diff drive), and
 * base_link -> wheel_left_link and wheel_right_link turned by the wheels' angles (robot_state_publisher, from
 * /joint_states), all with one stamp.
 */
export function odomTfMessage(time: number, pose: Pose2D, wheels: WheelJoints) {
  return {
    transforms: [
      transform(time, 'odom', 'base_footprint', pose.x, pose.y, 0, pose.yaw),
      jointTf(time, WHEEL_JOINTS.left, wheels.leftPosition),
      jointTf(time, WHEEL_JOINTS.right, wheels.rightPosition),
    ],
  };
}

/**
 * The static transforms on /tf_static, in one message (the topic is latched with depth 1, so a second message
 * would hide the first from a late subscriber): map -> odom (identity: the sim's odometry is drift-free, so it
 * stands in for localization), then the burger URDF's fixed joints, as robot_state_publisher sends them
 * (base_footprint -> base_link, base_link -> caster_back_link and base_scan).
 */
export function staticTfMessage() {
  const fixed = BURGER_MODEL.joints.filter((j) => j.type === 'fixed').map((j) => jointTf(0, j));
  return { transforms: [transform(0, 'map', 'odom', 0, 0, 0, 0), ...fixed] };
}

/** sensor_msgs/JointState of the wheels, as Gazebo's joint state publisher sends it for a TurtleBot3 (30 Hz). */
export function jointStateMessage(time: number, wheels: WheelJoints) {
  return {
    header: { stamp: simStamp(time), frame_id: '' },
    name: [WHEEL_JOINTS.left.name, WHEEL_JOINTS.right.name],
    position: [wheels.leftPosition, wheels.rightPosition],
    velocity: [wheels.leftVelocity, wheels.rightVelocity],
    // The sim models no motor torque: an empty effort is JointState's "not measured".
    effort: [],
  };
}

/** std_msgs/String on /robot_description: the URDF, as robot_state_publisher latches it. */
export function robotDescriptionMessage(urdf: string) {
  return { data: urdf };
}

export function occupancyGridMessage(grid: Grid) {
  return {
    header: { stamp: simStamp(0), frame_id: 'map' },
    info: {
      map_load_time: simStamp(0),
      resolution: grid.resolution,
      width: grid.width,
      height: grid.height,
      origin: { position: { x: grid.origin.x, y: grid.origin.y, z: 0 }, orientation: yawToQuaternion(0) },
    },
    data: grid.data,
  };
}

/** sensor_msgs/Image of a rendered frame: rgb8, rows from the top, in the camera's optical frame. */
export function imageMessage(time: number, camera: Camera, pixels: Uint8Array) {
  return {
    header: { stamp: simStamp(time), frame_id: CAMERA_OPTICAL_FRAME },
    height: camera.height,
    width: camera.width,
    encoding: 'rgb8',
    is_bigendian: 0,
    step: camera.width * 3,
    data: pixels,
  };
}

/**
 * sensor_msgs/CameraInfo of the camera: an ideal pinhole (plumb_bob with no distortion, R the identity, P = [K | 0]
 * as for a monocular camera), so image_geometry and rectification leave the image as it is.
 */
export function cameraInfoMessage(time: number, camera: Camera) {
  const { fx, fy, cx, cy } = camera.intrinsics;
  return {
    header: { stamp: simStamp(time), frame_id: CAMERA_OPTICAL_FRAME },
    height: camera.height,
    width: camera.width,
    distortion_model: 'plumb_bob',
    d: [0, 0, 0, 0, 0],
    k: [fx, 0, cx, 0, fy, cy, 0, 0, 1],
    r: [1, 0, 0, 0, 1, 0, 0, 0, 1],
    p: [fx, 0, cx, 0, 0, fy, cy, 0, 0, 0, 1, 0],
    binning_x: 0,
    binning_y: 0,
    roi: { x_offset: 0, y_offset: 0, height: 0, width: 0, do_rectify: false },
  };
}

export function clockMessage(time: number) {
  return { clock: simStamp(time) };
}
