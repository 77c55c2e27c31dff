/**
 * How an action already queued (`old`) and a new chunk's action for the same timestep merge, with
 * LeRobot async inference's weights (lerobot/async_inference/configs.py AGGREGATE_FUNCTIONS).
 */
export type AggregateName = 'weighted_average' | 'latest_only' | 'average' | 'conservative';

/** Weight of the old action; the new one gets 1 - w. */
const OLD_WEIGHT: Record<AggregateName, number> = {
  weighted_average: 0.3,
  latest_only: 0,
  average: 0.5,
  conservative: 0.7,
};

export const AGGREGATE_NAMES = Object.keys(OLD_WEIGHT) as AggregateName[];

export type Aggregator = (old: Float32Array, next: Float32Array) => Float32Array;

export function aggregator(name: AggregateName): Aggregator {
  const w = OLD_WEIGHT[name];
  if (w === undefined)
    throw new RangeError(`unknown aggregate function "${name}" (known: ${AGGREGATE_NAMES.join(', ')})`);
  if (w === 0) return (_old, next) => next.slice();
  return (old, next) => {
    const out = new Float32Array(next.length);
    for (let i = 0; i < next.length; i++) out[i] = w * old[i]! + (1 - w) * next[i]!;
    return out;
  };
}
