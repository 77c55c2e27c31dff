import { BURGER, distanceToRect, type Maze } from '../../sim/turtlebot-maze/core.ts';
import { codec } from '../rclpy/rclpy-daemon.ts';

/** One /odom message as the bus carried it: its stamp (robot time), pose and speeds. */
export type OdomSample = { t: number; x: number; y: number; yaw: number; v: number; w: number };

type Stamp = { sec: number; nanosec: number };
type Odometry = {
  header: { stamp: Stamp };
  pose: { pose: { position: { x: number; y: number }; orientation: { z: number; w: number } } };
  twist: { twist: { linear: { x: number }; angular: { z: number } } };
};

export const seconds = (s: Stamp) => s.sec + s.nanosec / 1e9;

export function odomSample(cdr: Buffer): OdomSample {
  const m = codec.decode<Odometry>('nav_msgs/msg/Odometry', cdr);
  const { position, orientation } = m.pose.pose;
  return {
    t: seconds(m.header.stamp),
    x: position.x,
    y: position.y,
    yaw: 2 * Math.atan2(orientation.z, orientation.w),
    v: m.twist.twist.linear.x,
    w: m.twist.twist.angular.z,
  };
}

/** The robot time /clock last said. */
export function clockSeconds(cdr: Buffer): number {
  return seconds(codec.decode<{ clock: Stamp }>('rosgraph_msgs/msg/Clock', cdr).clock);
}

/**
 * What a drive did, from its ground-truth poses (Gazebo's OdometryPublisher reports the model's world pose): robot
 * time from the first move to the last, distance driven, and collisions counted as the built-in sim counts them,
 * each time the burger's footprint (a disc of BURGER.radius) comes to overlap a wall, as Gazebo's contacts would
 * have it touch.
 */
export function trackOf(samples: OdomSample[], maze: Maze) {
  const moving = samples.filter((s) => Math.abs(s.v) > 0.01 || Math.abs(s.w) > 0.01);
  let distance = 0;
  let collisions = 0;
  let touching = false;
  let closest = Infinity;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    if (i > 0) distance += Math.hypot(s.x - samples[i - 1]!.x, s.y - samples[i - 1]!.y);
    const clearance = Math.min(...maze.walls.map((r) => distanceToRect(s.x, s.y, r)));
    closest = Math.min(closest, clearance);
    const now = clearance < BURGER.radius;
    if (now && !touching) collisions++;
    touching = now;
  }
  const timeS = moving.length > 1 ? moving.at(-1)!.t - moving[0]!.t : 0;
  return { timeS, distanceM: distance, collisions, closestWallM: closest, end: samples.at(-1) };
}
