import Type from 'typebox';
import { BusActionClient } from '../../actions/index.ts';
import { defineSkill, type SkillEnv, type SkillNote } from './skill.ts';

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
  async execute({ x, y }, env, signal, note) {
    const nav2 = env.settings.navigation.nav2_action;
    if (nav2 !== '') return navigateWithNav2(nav2, { x, y }, env, signal, note);
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

const NAVIGATE_TO_POSE = 'nav2_msgs/action/NavigateToPose';

/**
 * navigate_to through Nav2: one NavigateToPose goal in the map frame, the run's end or the stop cancelling it, its
 * goal id and outcome journaled. Nav2 has no "nearest free spot": the goal is where it was asked.
 */
async function navigateWithNav2(
  action: string,
  goal: { x: number; y: number },
  env: SkillEnv,
  signal: AbortSignal,
  note: SkillNote | undefined,
): Promise<unknown> {
  const client = new BusActionClient({
    bus: env.bus,
    codec: env.codec,
    name: action,
    type: NAVIGATE_TO_POSE,
    track: env.actionGoals,
  });
  try {
    const pose = { header: { frame_id: 'map' }, pose: { position: { ...goal, z: 0 }, orientation: { w: 1 } } };
    const handle = await client.sendGoal({ pose, behavior_tree: '' });
    if (handle === undefined)
      throw new Error(`navigation to (${goal.x}, ${goal.y}) failed: Nav2 (${action}) rejected the goal`);
    note?.('action.goal', { action, type: NAVIGATE_TO_POSE, goal_id: handle.goalId });
    const outcome = await handle.result({ timeoutMs: env.settings.navigation.timeout_s * 1000, signal });
    note?.('action.result', { action, goal_id: handle.goalId, state: outcome.state, result: outcome.result });
    if (outcome.state !== 'succeeded') {
      const why = outcome.reason ?? String(outcome.result.error_msg ?? '');
      throw new Error(`navigation to (${goal.x}, ${goal.y}) failed (${outcome.state} by Nav2, ${action}): ${why}`);
    }
    return { reached: true, goal, requested: goal, offset_m: 0, message: `Nav2 (${action}) reached the goal` };
  } finally {
    client.close();
  }
}
