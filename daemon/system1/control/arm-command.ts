import type { CommandSettings } from '../../config/index.ts';
import { JointFrame, type JointFrameSettings, type JointLimit } from '../../motion/index.ts';
import type { ArmPlan } from './loop-plan.ts';
import type { ObservationBoard } from './observation-board.ts';

/** motion.joints as a loop thread gets it: the robot's limits (as entries: they cross to the thread cloned). */
export interface LoopJointLimits {
  limits: [string, JointLimit][];
  settings: JointFrameSettings;
}

interface TrajectoryPoint {
  positions: Float64Array;
  time_from_start: { sec: number; nanosec: number };
}

/** What holding a command to the joint frame did: within it, clamped into it, or not to be sent. */
export const Framed = { Within: 0, Clamped: 1, Refused: 2, Unmeasured: 3 } as const;
export type Framed = (typeof Framed)[keyof typeof Framed];

/**
 * A joint position command's arm side in the loop thread: the joints' measured positions (by name, off the board),
 * the hold, and the joint frame (motion.joints). Allocates nothing per tick after construction.
 *
 * The hold is what the command sends when it must not move the arm (the operator's stop, a stale observation, an
 * overdue chunk, the loop's end): the positions measured when the hold began, as the action that the command's scale
 * and offset turn back into them. Measured once per hold, so an arm that sags under it is brought back, not followed
 * down.
 */
export class ArmCommand {
  readonly #plan: ArmPlan;
  readonly #type: CommandSettings['type'];
  readonly #reading: Float32Array;
  readonly #measured: Float64Array;
  readonly #action: Float32Array;
  readonly #scale: number;
  readonly #offsets: Float64Array;
  readonly #frame: JointFrame | undefined;
  readonly #need = new Float64Array(1);
  #captured = false;

  /** Throws a JointLimitsError naming the command's joints the robot does not have. */
  constructor(
    plan: ArmPlan,
    command: CommandSettings,
    dim: number,
    limits: LoopJointLimits | undefined,
    where: string,
  ) {
    this.#plan = plan;
    this.#type = command.type;
    this.#reading = new Float32Array(plan.joints.length);
    this.#measured = new Float64Array(plan.joints.length);
    this.#action = new Float32Array(dim);
    this.#scale = command.scale;
    const { offset } = command;
    this.#offsets = Float64Array.from({ length: dim }, (_, i) => (typeof offset === 'number' ? offset : offset[i]!));
    this.#frame = limits
      ? JointFrame.compile(plan.joints, new Map(limits.limits), limits.settings, `${where}.joint_names`)
      : undefined;
  }

  get topic(): string {
    return this.#plan.topic;
  }

  get joints(): readonly string[] {
    return this.#plan.joints;
  }

  /** Whether the safe command holds the measured position (no safe_action given). */
  get holds(): boolean {
    return this.#plan.hold;
  }

  /** The first violation of the last frame() that was not within the limits, in words. */
  violation(): string | undefined {
    return this.#frame?.violation();
  }

  /** A command that is not a hold went out: the next hold measures again. */
  release(): void {
    this.#captured = false;
  }

  /**
   * The action that holds the joints where they were when this hold began; undefined while no fresh, finite reading
   * has come (each call tries again). Then nothing is sent: the controller keeps the last target it took (a joint
   * trajectory controller of ROS 2 Jazzy refuses a trajectory with no points, and the last target the loop made may
   * be a command the latch kept from the robot).
   */
  holdAction(board: ObservationBoard, nowMs: number): Float32Array | undefined {
    if (this.#captured) return this.#action;
    const measured = this.#read(board, nowMs);
    if (!measured) return undefined;
    const action = this.#action;
    for (let i = 0; i < action.length; i++) {
      // command = action * scale + offset, so the action that commands the measured position is this.
      action[i] = (measured[i]! - this.#offsets[i]!) / this.#scale;
      if (!Number.isFinite(action[i]!)) return undefined;
    }
    this.#captured = true;
    return action;
  }

  /**
   * Holds the built command (the CommandBuilder's message, in place) to the joint frame: every position within the
   * limits and within max_step of the one before (the first point's: of the measured position), and a trajectory's
   * time_from_start raised to what the velocity limits need. Refused: mode refuse and outside, or a value that is not
   * a position with nothing to hold instead; Unmeasured: no fresh measured position. The caller sends neither.
   */
  frame(message: unknown, board: ObservationBoard, nowMs: number): Framed {
    const frame = this.#frame;
    if (!frame) return Framed.Within;
    const measured = this.#read(board, nowMs);
    // Where the arm is not known its step cannot be bounded: nothing goes out (the policy's doors refuse so too).
    if (!measured) return Framed.Unmeasured;
    let changed = 0;
    if (this.#type === 'trajectory_msgs/msg/JointTrajectory') {
      const points = (message as { points: TrajectoryPoint[] }).points;
      let before: Float64Array | undefined = measured;
      let atS = 0;
      for (let k = 0; k < points.length; k++) {
        const point = points[k]!;
        changed += frame.apply(point.positions, 1, before, this.#need);
        if (frame.unresolved) return Framed.Refused;
        // The point is due no sooner than the velocity limits let the arm get there from the point before.
        const t = point.time_from_start;
        const givenS = t.sec + t.nanosec / 1e9;
        atS = Math.max(givenS, atS + this.#need[0]!);
        if (atS > givenS) {
          t.sec = Math.floor(atS);
          t.nanosec = Math.min(999_999_999, Math.round((atS - t.sec) * 1e9));
        }
        before = point.positions;
      }
    } else {
      const data = (message as { data: Float64Array }).data;
      changed = frame.apply(data, data.length / frame.size, measured, undefined);
      if (frame.unresolved) return Framed.Refused;
    }
    if (changed === 0) return Framed.Within;
    return frame.mode === 'refuse' ? Framed.Refused : Framed.Clamped;
  }

  /** The joints' positions measured now, in the command's order; undefined when none is fresh. */
  #read(board: ObservationBoard, nowMs: number): Float64Array | undefined {
    const t = board.read(this.#plan.slot, this.#reading, 0);
    if (Number.isNaN(t) || nowMs - t > this.#plan.maxAgeMs) return undefined;
    const measured = this.#measured;
    for (let i = 0; i < measured.length; i++) measured[i] = this.#reading[i]!;
    return measured;
  }
}
