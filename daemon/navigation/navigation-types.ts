import type { Bus } from '../bus/index.ts';
import type { MessageCodec } from '../bus/index.ts';
import type { PlanOptions } from './astar.ts';
import type { Point2D } from './geometry.ts';
import type { PathFollowerOptions } from './path-follower.ts';

/**
 * How a goal ended. `no_data`: /map or /odom never came, /odom stopped mid-drive, or /scan went stale for
 * longer than the grace period. `blocked`: something not on the map stood in the way, and a plan around it
 * found no way.
 */
export type NavigationOutcome = 'reached' | 'unreachable' | 'timeout' | 'cancelled' | 'no_data' | 'blocked';

export interface NavigationResult {
  reached: boolean;
  outcome: NavigationOutcome;
  /** For people: why it failed, or where it arrived. */
  message: string;
  /** Length of the last plan, metres (a re-plan replaces it; 0 when no plan). */
  planLength: number;
  /** Sim or robot time the drive took, seconds (from message stamps). */
  elapsedS: number;
  /**
   * Whether the navigator had sent the robot a motion command for this goal (a drive cancelled right after
   * its first command has moved for 0 s of robot time, yet it has started). Absent from navigators that do
   * not say.
   */
  commanded?: boolean;
  /**
   * Where the robot was sent: the goal asked for, or, when that is too close to a wall for the robot, the
   * nearest spot it fits in (up to the planner's snapRadius away). Absent when no plan was made.
   */
  goal?: Point2D;
  /** Metres between the goal asked for and `goal`. */
  goalOffsetM?: number;
}

export type NavigationSafety = {
  /**
   * Milliseconds without /odom after which the robot is stopped and the goal ends with no_data: wall time,
   * stretched by 1 / timeScale when that is below 1.
   */
  odomTimeoutMs?: number;
  /**
   * A /scan older than this (robot seconds, its stamp against the latest /odom stamp) does not count: no forward motion
   * without one.
   */
  scanMaxAgeS?: number;
  /** Robot seconds without a fresh /scan after which the goal ends with no_data. */
  scanGraceS?: number;
  /** Robot seconds held back by the safety stop after which the navigator plans around what the scan sees. */
  blockedReplanS?: number;
  /**
   * Metres off its path beyond which the robot is planned for again from where it is (its pose jumped: a teleport, a
   * localization reset).
   */
  offPathReplanM?: number;
};

export interface NavigateOptions {
  /** Give up after this many seconds of robot time (message stamps, so sim time in a sim). */
  timeoutS?: number;
  /** How long to wait (wall time) for /map and /odom before failing with no_data. */
  dataTimeoutMs?: number;
  /** Aborting it ends the goal at once, in any phase (waiting for data or driving), with its reason as the message. */
  signal?: AbortSignal;
}

export interface NavigatorOptions {
  bus: Bus;
  codec: MessageCodec;
  plan?: PlanOptions;
  follow?: PathFollowerOptions;
  topics?: { map?: string; odom?: string; scan?: string; cmdVel?: string; plan?: string; tfStatic?: string };
  /**
   * Robot seconds per wall second: 1 on a robot, the sim's speed in a sim. Below 1, the wall-clock
   * watchdogs stretch by its inverse, so a slow sim is not taken for a dead one.
   */
  timeScale?: number;
  safety?: NavigationSafety;
}
