import type { CommandSettings } from '../../daemon/config/index.ts';

/** Builds the command message (a plain object for the CDR writer) from one action, or a chunk of them. */
export type CommandBuilder = (actions: Float32Array, dim: number, stampNs: bigint, periodS: number) => unknown;

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
      return (actions) => {
        const msg = { linear: { x: 0, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0 } };
        for (let i = 0; i < dim; i++) {
          const [part, axis] = fields[i]!.split('.') as ['linear' | 'angular', 'x' | 'y' | 'z'];
          msg[part][axis] = map(actions[i]!, i);
        }
        return msg;
      };
    }
    case 'std_msgs/msg/Float64MultiArray':
      return (actions) => {
        const data = new Float64Array(actions.length);
        for (let i = 0; i < actions.length; i++) data[i] = map(actions[i]!, i);
        const count = actions.length / dim;
        const dims =
          count > 1
            ? [
                { label: 'chunk', size: count, stride: actions.length },
                { label: 'action', size: dim, stride: dim },
              ]
            : [{ label: 'action', size: dim, stride: dim }];
        return { layout: { dim: dims, data_offset: 0 }, data };
      };
    case 'trajectory_msgs/msg/JointTrajectory': {
      if (jointNames.length !== dim)
        throw new CommandError(
          `${where}.joint_names names ${jointNames.length} joints, the action has ${dim} elements`,
        );
      return (actions, _dim, stampNs, periodS) => {
        const count = actions.length / dim;
        const points = [];
        for (let k = 0; k < count; k++) {
          const positions = new Float64Array(dim);
          for (let i = 0; i < dim; i++) positions[i] = map(actions[k * dim + i]!, i);
          const t = (k + 1) * periodS;
          points.push({
            positions,
            velocities: new Float64Array(0),
            accelerations: new Float64Array(0),
            effort: new Float64Array(0),
            time_from_start: { sec: Math.floor(t), nanosec: Math.round((t - Math.floor(t)) * 1e9) },
          });
        }
        return {
          header: {
            stamp: { sec: Number(stampNs / 1_000_000_000n), nanosec: Number(stampNs % 1_000_000_000n) },
            frame_id: frameId,
          },
          joint_names: jointNames,
          points,
        };
      };
    }
  }
}
