import type { ComponentContext } from '../../lifecycle/index.ts';
import { sleep } from '../../util/index.ts';
import type { ControlLoopOptions } from './control-loop-types.ts';

/** How long the loops wait for a robot_description (motion.joints) before they start; without it they fail to. */
const DESCRIPTION_WAIT_MS = 10_000;

/**
 * motion.joints' limits for the control loops, from the daemon's one view of the robot (ctx.robot: a URDF file, or
 * the robot_description its graph serves): each loop's joint command is held to them as they are when it starts.
 */
export class LoopJointLimits {
  readonly #ctx: Pick<ComponentContext, 'config' | 'robot'>;

  constructor(ctx: Pick<ComponentContext, 'config' | 'robot'>) {
    this.#ctx = ctx;
  }

  /** Waits for the limits: a description published latched arrives once the bridge has the topic. */
  async open(): Promise<void> {
    if (!this.#ctx.config.motion.joints) return;
    for (let waitedMs = 0; waitedMs < DESCRIPTION_WAIT_MS; waitedMs += 25) {
      if (typeof this.#ctx.robot.limits() !== 'string') return;
      await sleep(25);
    }
  }

  close(): void {}

  /** A loop's `joints` option: none without motion.joints. */
  options(): Pick<ControlLoopOptions, 'joints'> {
    const settings = this.#ctx.config.motion.joints;
    if (!settings) return {};
    const { mode, max_step, limits } = settings;
    return {
      joints: {
        current: () => this.#ctx.robot.limits(),
        settings: { mode, max_step, limits },
      },
    };
  }
}
