import type { CommandSettings } from '../../../daemon/config/index.ts';
import type { HoldPlan } from './loop-plan.ts';
import type { ObservationBoard } from './observation-board.ts';

/**
 * What a joint position command sends when it must not move the arm (the operator's stop, a stale observation, an
 * overdue chunk, the loop's end): the positions measured when the hold began, read by joint name off the board, as
 * the action that the command's scale and offset turn back into them. Measured once per hold, so an arm that sags
 * under the hold is brought back, not followed down. Allocates nothing after construction.
 */
export class JointHold {
  readonly #plan: HoldPlan;
  readonly #measured: Float32Array;
  readonly #action: Float32Array;
  readonly #scale: number;
  readonly #offsets: Float64Array;
  #captured = false;

  constructor(plan: HoldPlan, command: Pick<CommandSettings, 'scale' | 'offset'>, dim: number) {
    this.#plan = plan;
    this.#measured = new Float32Array(plan.joints.length);
    this.#action = new Float32Array(dim);
    this.#scale = command.scale;
    const { offset } = command;
    this.#offsets = Float64Array.from({ length: dim }, (_, i) => (typeof offset === 'number' ? offset : offset[i]!));
  }

  get topic(): string {
    return this.#plan.topic;
  }

  get joints(): readonly string[] {
    return this.#plan.joints;
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
  action(board: ObservationBoard, nowMs: number): Float32Array | undefined {
    return this.#captured || this.#measure(board, nowMs) ? this.#action : undefined;
  }

  #measure(board: ObservationBoard, nowMs: number): boolean {
    const measured = this.#measured;
    const t = board.read(this.#plan.slot, measured, 0);
    if (Number.isNaN(t) || nowMs - t > this.#plan.maxAgeMs) return false;
    const action = this.#action;
    for (let i = 0; i < action.length; i++) {
      // command = action * scale + offset, so the action that commands the measured position is this.
      action[i] = (measured[i]! - this.#offsets[i]!) / this.#scale;
      if (!Number.isFinite(action[i]!)) return false;
    }
    this.#captured = true;
    return true;
  }
}
