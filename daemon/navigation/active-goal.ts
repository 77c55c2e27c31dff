import { formatPoint, type Point2D } from './geometry.ts';
import { GoalWatchdog } from './goal-watchdog.ts';
import type { NavigationResult } from './navigation-types.ts';
import type { PathFollower } from './path-follower.ts';

/** The goal a navigator is driving to, and what it keeps about it while it does. */
export interface ActiveGoal {
  /** The goal asked for. */
  requested: Point2D;
  /** Where the current plan ends (the requested goal, or the nearest spot the robot fits in). */
  goal: Point2D;
  follower: PathFollower;
  startS: number | undefined;
  /** Whether a motion command (a nonzero Twist) has been sent for this goal. */
  commanded: boolean;
  planLength: number;
  timeoutS: number;
  /** Robot time since when no fresh /scan has been seen, while that lasts. */
  scanStaleSinceS: number | undefined;
  /** Robot time since when the safety stop has held the robot, while that lasts. */
  blockedSinceS: number | undefined;
  /** Cells the scan saw occupied while blocked (map indices); planned around until a new /map. */
  seenObstacles: Set<number>;
  watchdog: GoalWatchdog;
  finish: (result: NavigationResult) => void;
}

// The wall-clock backstop on a goal's timeout: this many times the timeout, so it fires only when robot
// time stops advancing (a stuck stamp), never before the stamps would have ended the goal.
const WALL_TIMEOUT_FACTOR = 2;

/**
 * A goal's wall-clock backstops, each ending it with what happened: no odometry for odomTimeoutMs, or the
 * timeout passed on the wall clock; both stretched by wallPerRobotS when robot time runs slower.
 */
export function goalBackstops(
  {
    goal,
    timeoutS,
    odomTopic,
    odomTimeoutMs,
    wallPerRobotS,
  }: { goal: Point2D; timeoutS: number; odomTopic: string; odomTimeoutMs: number; wallPerRobotS: number },
  end: (result: Pick<NavigationResult, 'reached' | 'outcome' | 'message'>) => void,
): GoalWatchdog {
  const silenceMs = odomTimeoutMs * wallPerRobotS;
  const limitMs = WALL_TIMEOUT_FACTOR * timeoutS * 1000 * wallPerRobotS;
  return new GoalWatchdog({
    silenceMs,
    limitMs,
    onSilence: () =>
      end({
        reached: false,
        outcome: 'no_data',
        message: `no ${odomTopic} for ${Math.round(silenceMs)} ms: the robot (or sim) stopped publishing odometry, or is paused; stopped it`,
      }),
    onLimit: () =>
      end({
        reached: false,
        outcome: 'timeout',
        message: `did not reach ${formatPoint(goal)} within ${timeoutS} s: robot time (${odomTopic} stamps) stopped advancing, and ${Math.round(limitMs / 1000)} s of wall time passed`,
      }),
  });
}
