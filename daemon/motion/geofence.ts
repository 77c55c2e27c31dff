import type { MotionSettings } from '../config/index.ts';
import type { PolicyDecision, PolicyHook } from '../contract/index.ts';
import { field, twistMoves, type Twist } from './tool-inputs.ts';
import { ALLOW } from '../contract/index.ts';
import { governedTopics, velocityCommand, ZERO_TWIST, type VelocityLimits } from './velocity.ts';

type Point = { x: number; y: number };

/** Where the robot is: map-frame metres and yaw, and how old the reading is. */
export interface RobotPose {
  x: number;
  y: number;
  yaw: number;
  ageMs: number;
}

/** What the fence needs to judge a velocity command: the governed topics, and the pose of the robot on their topic. */
export interface FenceMotion {
  limits: VelocityLimits;
  /** The robot's last pose (its odometry), or undefined when none was read. */
  pose: () => RobotPose | undefined;
}

/** Steps a command's path is followed in over the horizon: an arc (linear and angular together) is not a line. */
const PATH_STEPS = 20;

/** Even-odd ray casting; points on an edge count as inside. */
export function insidePolygon(p: Point, polygon: readonly Point[]): boolean {
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const a = polygon[i]!;
    const b = polygon[j]!;
    if (onSegment(p, a, b)) return true;
    if (a.y > p.y !== b.y > p.y && p.x < ((b.x - a.x) * (p.y - a.y)) / (b.y - a.y) + a.x) inside = !inside;
  }
  return inside;
}

function onSegment(p: Point, a: Point, b: Point): boolean {
  const cross = (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x);
  if (Math.abs(cross) > 1e-9) return false;
  return (
    p.x >= Math.min(a.x, b.x) - 1e-9 &&
    p.x <= Math.max(a.x, b.x) + 1e-9 &&
    p.y >= Math.min(a.y, b.y) - 1e-9 &&
    p.y <= Math.max(a.y, b.y) + 1e-9
  );
}

/**
 * navigate_to goals must lie in the geofence polygon (none configured: no fence), and so must every position in a
 * call_action goal (a Nav2 PoseStamped, MoveIt's target poses, a list of waypoints): whatever the action, a point
 * outside the fence is refused before the goal is sent. A velocity command published on a governed topic (by the
 * agent, an MCP client or a Foxglove teleop panel: all pass this chain) is held to zero when, kept for
 * `horizon_s` from the robot's last pose, it would carry the robot out of the fence, or further out of it; one that
 * turns in place or heads back in passes, so a robot outside can be driven home. With no recent pose, a moving
 * command is held: the fence cannot tell where it goes.
 */
export function geofenceHook(fence: MotionSettings['geofence'], motion: FenceMotion): PolicyHook {
  const { polygon } = fence;
  const governed = governedTopics(motion.limits);
  return {
    name: 'geofence',
    beforeToolCall(ctx, input) {
      if (polygon.length < 3) return ALLOW;
      if (ctx.tool === 'call_action') {
        const reason = goalOutsideFence(polygon, field<unknown>(input, 'goal'));
        return reason === undefined ? ALLOW : { action: 'deny', rule: 'geofence', reason };
      }
      if (ctx.tool === 'publish') return velocityInFence(input, fence, motion, governed);
      if (ctx.tool !== 'navigate_to') return ALLOW;
      const goal = { x: field<number>(input, 'x') ?? NaN, y: field<number>(input, 'y') ?? NaN };
      const outside = insidePolygon(goal, polygon) ? undefined : goal;
      if (outside === undefined) return ALLOW;
      return {
        action: 'deny',
        rule: 'geofence',
        reason: `goal (${outside.x}, ${outside.y}) is outside the geofence (motion.geofence.polygon)`,
      };
    },
  };
}

/** A publish's velocity command against the fence: allowed, or rewritten to a zero command naming why. */
function velocityInFence(
  input: unknown,
  fence: MotionSettings['geofence'],
  motion: FenceMotion,
  governed: (topic: string) => boolean,
): PolicyDecision<unknown> {
  const command = velocityCommand(input, governed);
  if (!command || !twistMoves(command.twist)) return ALLOW;
  const { topic, fields, stamped } = command;
  const why = whyHeld(topic, command.twist, fence, motion);
  if (why === undefined) return ALLOW;
  return {
    action: 'rewrite',
    rule: 'geofence.velocity',
    reason: `held to zero on ${topic}: ${why} (motion.geofence)`,
    value: { ...(input as object), fields: stamped ? { ...fields, twist: ZERO_TWIST } : ZERO_TWIST },
  };
}

function whyHeld(
  topic: string,
  twist: Twist,
  fence: MotionSettings['geofence'],
  motion: FenceMotion,
): string | undefined {
  const { polygon, horizon_s: horizonS, max_pose_age_ms: maxAgeMs } = fence;
  // One odometry topic: the pose is that of the robot on the velocity topic, no other's.
  if (topic !== motion.limits.topic)
    return `the fence knows the pose of the robot on ${motion.limits.topic} only (agent.navigation.odom_topic)`;
  const pose = motion.pose();
  if (pose === undefined) return 'no pose was read yet (agent.navigation.odom_topic), so where it goes is unknown';
  if (!(pose.ageMs <= maxAgeMs))
    return `the last pose is ${Math.round(pose.ageMs)} ms old (max_pose_age_ms ${maxAgeMs}), so where it goes is unknown`;
  const path = pathOf(pose, twist, horizonS);
  const from = `from (${fmt(pose.x)}, ${fmt(pose.y)})`;
  if (insidePolygon(pose, polygon)) {
    const out = path.find((p) => !insidePolygon(p, polygon));
    return out && `${from} it would leave the fence within ${horizonS} s, at (${fmt(out.x)}, ${fmt(out.y)})`;
  }
  const end = path.at(-1)!;
  const [before, after] = [distanceTo(pose, polygon), distanceTo(end, polygon)];
  return after > before + 1e-9
    ? `${from}, ${fmt(before)} m outside the fence, it would go further out (${fmt(after)} m in ${horizonS} s)`
    : undefined;
}

/** Where a base following `twist` (body frame: linear x and y, yaw rate) goes from `pose` over `horizonS`. */
function pathOf(pose: RobotPose, twist: Twist, horizonS: number): Point[] {
  const dt = horizonS / PATH_STEPS;
  const path: Point[] = [];
  let { x, y, yaw } = pose;
  for (let i = 0; i < PATH_STEPS; i++) {
    const mid = yaw + (twist.angular.z * dt) / 2;
    x += (twist.linear.x * Math.cos(mid) - twist.linear.y * Math.sin(mid)) * dt;
    y += (twist.linear.x * Math.sin(mid) + twist.linear.y * Math.cos(mid)) * dt;
    yaw += twist.angular.z * dt;
    path.push({ x, y });
  }
  return path;
}

/** The distance from `p` to the polygon's nearest edge. */
function distanceTo(p: Point, polygon: readonly Point[]): number {
  let best = Infinity;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const a = polygon[j]!;
    const b = polygon[i]!;
    const [dx, dy] = [b.x - a.x, b.y - a.y];
    const t = Math.max(0, Math.min(1, ((p.x - a.x) * dx + (p.y - a.y) * dy) / (dx * dx + dy * dy || 1)));
    best = Math.min(best, Math.hypot(p.x - (a.x + t * dx), p.y - (a.y + t * dy)));
  }
  return best;
}

function fmt(n: number): string {
  return n.toFixed(2);
}

/**
 * Why an action goal may not be sent: the first position in it outside the fence (none configured: no fence), for
 * every goal the daemon sends or serves whoever asked (the API's send_goal, a ROS client's goal to a served action).
 */
export function goalOutsideFence(polygon: readonly Point[], goal: unknown): string | undefined {
  if (polygon.length < 3) return undefined;
  const outside = positionsIn(goal).find((p) => !insidePolygon(p, polygon));
  return outside && `goal position (${outside.x}, ${outside.y}) is outside the geofence (motion.geofence.polygon)`;
}

/** Every `position: {x, y}` (geometry_msgs/Point of a Pose) in a goal, however deep; at most 10,000 looked at. */
export function positionsIn(goal: unknown): Point[] {
  const found: Point[] = [];
  const stack: unknown[] = [goal];
  for (let seen = 0; stack.length > 0 && seen < 10_000; seen++) {
    const value = stack.pop();
    if (value === null || typeof value !== 'object') continue;
    if (Array.isArray(value)) {
      stack.push(...value);
      continue;
    }
    const record = value as Record<string, unknown>;
    const position = record.position as { x?: unknown; y?: unknown } | undefined;
    if (position !== null && typeof position === 'object') {
      // A position that is not two numbers is no point inside the fence: NaN is outside every polygon.
      const x = typeof position.x === 'number' ? position.x : NaN;
      const y = typeof position.y === 'number' ? position.y : NaN;
      found.push({ x, y });
    }
    for (const [key, v] of Object.entries(record)) if (key !== 'position') stack.push(v);
  }
  return found;
}
