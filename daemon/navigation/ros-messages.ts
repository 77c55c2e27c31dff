import type { Point2D, Pose2D } from './geometry.ts';
import type { Grid } from './grid.ts';
import type { FollowerScan } from './path-follower.ts';

/** The fields of the ROS 2 messages the navigator reads, as MessageCodec decodes them, and what it makes of them. */

type Stamp = { sec: number; nanosec: number };
export type OdometryMsg = {
  header: { stamp: Stamp };
  pose: { pose: { position: { x: number; y: number }; orientation: { x: number; y: number; z: number; w: number } } };
};
export type ScanMsg = { header: { stamp: Stamp }; angle_min: number; angle_increment: number; ranges: Float32Array };
export type TfMsg = {
  transforms: {
    header: { frame_id: string };
    child_frame_id: string;
    transform: { translation: { x: number; y: number } };
  }[];
};
export type GridMsg = {
  info: { resolution: number; width: number; height: number; origin: { position: { x: number; y: number } } };
  data: Int8Array;
};

export const stampS = (s: Stamp) => s.sec + s.nanosec / 1e9;

export function poseOf(m: OdometryMsg): Pose2D {
  const q = m.pose.pose.orientation;
  return {
    x: m.pose.pose.position.x,
    y: m.pose.pose.position.y,
    yaw: Math.atan2(2 * (q.w * q.z + q.x * q.y), 1 - 2 * (q.y * q.y + q.z * q.z)),
  };
}

export function scanOf(m: ScanMsg): FollowerScan {
  return { ranges: m.ranges, angleMin: m.angle_min, angleIncrement: m.angle_increment };
}

export function gridOf(m: GridMsg): Grid {
  return {
    width: m.info.width,
    height: m.info.height,
    resolution: m.info.resolution,
    origin: { x: m.info.origin.position.x, y: m.info.origin.position.y },
    data: m.data,
  };
}

/** Where the lidar sits on the base (base_link -> base_scan), when this /tf_static message says. */
export function scanMountOf(m: TfMsg): Point2D | undefined {
  const mount = m.transforms.find((tf) => tf.child_frame_id === 'base_scan' && tf.header.frame_id === 'base_link');
  return mount ? { x: mount.transform.translation.x, y: mount.transform.translation.y } : undefined;
}
