import Type from 'typebox';
import { defineSkill } from './skill.ts';

export const navigateTo = defineSkill({
  name: 'navigate_to',
  description:
    'Drive the robot to a point (x, y) in the map frame, metres, avoiding obstacles (A* path planning). Returns when it arrives or fails.',
  parameters: Type.Object(
    { x: Type.Number({ description: 'metres, map frame' }), y: Type.Number({ description: 'metres, map frame' }) },
    { additionalProperties: false },
  ),
  motion: true,
  cancellable: true,
  async execute({ x, y }, env, signal) {
    const navigation = env.navigation();
    if (!navigation) throw new Error('navigation is unavailable: no navigator is running');
    const result = await navigation.navigateTo({ x, y }, { timeoutS: env.settings.navigation.timeout_s, signal });
    if (!result.reached)
      throw new Error(
        `navigation to (${x}, ${y}) failed (${result.outcome}): ${result.message}${whereStopped(navigation.pose, arrivedAt(result) ?? { x, y }, result)}`,
      );
    // The navigator may move a goal that is too close to a wall to the nearest spot the robot fits in;
    // `goal` is where the robot went, `requested` what was asked.
    const arrived = arrivedAt(result);
    return {
      reached: true,
      goal: arrived ?? { x, y },
      requested: { x, y },
      offset_m: arrived ? round(Math.hypot(arrived.x - x, arrived.y - y)) : 0,
      message: result.message,
    };
  },
});

/** The goal the navigator drove to, when it says (daemon/navigation's Navigator does; a test double may not). */
function arrivedAt(result: object): { x: number; y: number } | undefined {
  const goal: unknown = (result as { goal?: unknown }).goal;
  if (goal === null || typeof goal !== 'object') return undefined;
  const { x, y } = goal as { x?: unknown; y?: unknown };
  return typeof x === 'number' && typeof y === 'number' ? { x, y } : undefined;
}

const round = (v: number) => Math.round(v * 1000) / 1000;

/**
 * What a drive that did not arrive had done, when the robot moved or was stopped: where the robot is, how
 * far (straight line) it had left, how long it drove (robot time).
 */
function whereStopped(
  pose: { x: number; y: number } | undefined,
  goal: { x: number; y: number },
  result: { outcome: string; elapsedS?: number; commanded?: boolean },
): string {
  const driven = result.elapsedS ?? 0;
  const started = driven > 0 || result.commanded === true;
  if (!pose || (!started && result.outcome !== 'cancelled')) return '';
  const left = `${Math.hypot(goal.x - pose.x, goal.y - pose.y).toFixed(2)} m (straight line) from (${goal.x.toFixed(2)}, ${goal.y.toFixed(2)})`;
  const at = `(${pose.x.toFixed(2)}, ${pose.y.toFixed(2)})`;
  if (!started) return `; it had not started driving: the robot is at ${at}, ${left}`;
  return `; the robot stopped at ${at} after ${driven.toFixed(1)} s of driving (robot time), ${left}`;
}
