import type { CommandSettings } from '../config/index.ts';

/**
 * Builds the command message (a plain object for the CDR writer) from one action, or a chunk of them. The message is
 * the builder's own and the next call rewrites it (a loop builds one every tick): encode it before building another.
 * `stampNs` is called only by a type with a stamp.
 */
export type CommandBuilder = (actions: Float32Array, stampNs: () => bigint, periodS: number) => unknown;

export class CommandError extends Error {
  override name = 'CommandError';
}

const TWIST_FIELDS = new Set(['linear.x', 'linear.y', 'linear.z', 'angular.x', 'angular.y', 'angular.z']);

/**
 * Compiles a command mapping. Each action element becomes `element * scale + offset`, clipped; a
 * non-finite result throws (NaN would pass any clip). A Twist
 * takes one action (the first of a chunk); a Float64MultiArray and a JointTrajectory take the whole chunk
 * (K x dim values; one trajectory point per action, `periodS` apart).
 */
export function compileCommand(settings: CommandSettings, dim: number, where: string): CommandBuilder {
  const { type, fields, joint_names: jointNames, scale, offset, clip, frame_id: frameId } = settings;
  const offsets = typeof offset === 'number' ? new Array<number>(dim).fill(offset) : offset;
  if (offsets.length !== dim)
    throw new CommandError(`${where}.offset has ${offsets.length} values, the action has ${dim}`);
  if (!Number.isFinite(scale) || !offsets.every(Number.isFinite))
    throw new CommandError(`${where}: scale and offset must be finite numbers`);
  const [lo, hi] = clip ?? [-Infinity, Infinity];
  const map = (v: number, i: number): number => {
    const x = v * scale + offsets[i % dim]!;
    // NaN passes any clip; the loop replaces a non-finite action before it gets here, so this is the last guard.
    if (!Number.isFinite(x))
      throw new CommandError(
        `${where}: element ${i % dim} of the action is ${v}, which makes a command of ${x}; commands must be finite`,
      );
    return x < lo ? lo : x > hi ? hi : x;
  };
  switch (type) {
    case 'geometry_msgs/msg/Twist': {
      if (fields.length !== dim)
        throw new CommandError(`${where}.fields names ${fields.length} Twist fields, the action has ${dim} elements`);
      const bad = fields.find((f) => !TWIST_FIELDS.has(f));
      if (bad)
        throw new CommandError(`${where}.fields: "${bad}" is not a Twist field (${[...TWIST_FIELDS].join(', ')})`);
      const axes = fields.map((f) => f.split('.') as ['linear' | 'angular', 'x' | 'y' | 'z']);
      const msg = { linear: { x: 0, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0 } };
      return (actions) => {
        for (let i = 0; i < dim; i++) {
          const [part, axis] = axes[i]!;
          msg[part][axis] = map(actions[i]!, i);
        }
        return msg;
      };
    }
    case 'std_msgs/msg/Float64MultiArray': {
      if (jointNames.length > 0 && jointNames.length !== dim)
        throw new CommandError(
          `${where}.joint_names names ${jointNames.length} joints, the action has ${dim} elements`,
        );
      // Remade only when a call's length differs from the last one's: a loop's action has always the same.
      let msg = float64MultiArray(0, dim);
      return (actions) => {
        if (msg.data.length !== actions.length) msg = float64MultiArray(actions.length, dim);
        const data = msg.data;
        for (let i = 0; i < actions.length; i++) data[i] = map(actions[i]!, i);
        return msg;
      };
    }
    case 'trajectory_msgs/msg/JointTrajectory': {
      if (jointNames.length !== dim)
        throw new CommandError(
          `${where}.joint_names names ${jointNames.length} joints, the action has ${dim} elements`,
        );
      const msg = {
        header: { stamp: { sec: 0, nanosec: 0 }, frame_id: frameId },
        joint_names: jointNames,
        points: [] as TrajectoryPoint[],
      };
      return (actions, stampNs, periodS) => {
        const count = actions.length / dim;
        const points = msg.points;
        // Points are kept between calls: a loop's command has always as many.
        while (points.length > count) points.pop();
        while (points.length < count) points.push(trajectoryPoint(dim));
        for (let k = 0; k < count; k++) {
          const point = points[k]!;
          for (let i = 0; i < dim; i++) point.positions[i] = map(actions[k * dim + i]!, i);
          const t = (k + 1) * periodS;
          point.time_from_start.sec = Math.floor(t);
          point.time_from_start.nanosec = Math.round((t - Math.floor(t)) * 1e9);
        }
        const ns = stampNs();
        msg.header.stamp.sec = Number(ns / 1_000_000_000n);
        msg.header.stamp.nanosec = Number(ns % 1_000_000_000n);
        return msg;
      };
    }
  }
}

interface TrajectoryPoint {
  positions: Float64Array;
  velocities: Float64Array;
  accelerations: Float64Array;
  effort: Float64Array;
  time_from_start: { sec: number; nanosec: number };
}

function trajectoryPoint(dim: number): TrajectoryPoint {
  return {
    positions: new Float64Array(dim),
    velocities: new Float64Array(0),
    accelerations: new Float64Array(0),
    effort: new Float64Array(0),
    time_from_start: { sec: 0, nanosec: 0 },
  };
}

/** A Float64MultiArray of `length` values: one action of `dim`, or a chunk of them (K x dim). */
function float64MultiArray(length: number, dim: number) {
  const count = length / dim;
  const dims =
    count > 1
      ? [
          { label: 'chunk', size: count, stride: length },
          { label: 'action', size: dim, stride: dim },
        ]
      : [{ label: 'action', size: dim, stride: dim }];
  return { layout: { dim: dims, data_offset: 0 }, data: new Float64Array(length) };
}
