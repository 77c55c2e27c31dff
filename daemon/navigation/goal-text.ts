import { formatPoint, type Point2D } from './geometry.ts';
import type { NavigationOutcome, NavigationResult } from './navigation-types.ts';

/** What the navigator says about a goal, in words for people. */

export const distance = (a: Point2D, b: Point2D) => Math.hypot(a.x - b.x, a.y - b.y);

/** "reached (x, y)", naming the spot the robot was sent to when the planner moved the goal off a wall. */
export function reachedMessage(requested: Point2D, goal: Point2D): string {
  const offset = distance(goal, requested);
  if (offset < 0.005) return `reached ${formatPoint(requested)}`;
  return `reached ${formatPoint(goal)}, the nearest spot the robot fits in to ${formatPoint(requested)} (${offset.toFixed(2)} m from it)`;
}

/** Why a goal was cancelled, in words: superseded by another goal, stopped, or its run cancelled. */
export function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name !== 'AbortError') return reason.message;
  return typeof reason === 'string' && reason !== '' ? reason : 'cancelled';
}

/**
 * Why `values` (named fields of a goal or pose) are no numbers to drive by, or undefined when all are finite:
 * "x is NaN". A NaN compares false with everything, so it would pass every bound check downstream (the
 * map's extent, the goal tolerance) and reach /cmd_vel as a NaN command.
 */
export function notFinite(values: Record<string, number>): string | undefined {
  const bad = Object.entries(values).filter(([, v]) => !Number.isFinite(v));
  return bad.length === 0 ? undefined : bad.map(([k, v]) => `${k} is ${v}`).join(', ');
}

/** The result of a goal that ended before the robot moved for it. */
export function notStarted(outcome: NavigationOutcome, message: string): NavigationResult {
  return { reached: false, outcome, message, planLength: 0, elapsedS: 0 };
}
