import { MessageCodec } from '../../bus/index.ts';
import type { ComponentContext } from '../../lifecycle/index.ts';
import { JointLimitsSource } from '../../policy/index.ts';
import { errorText, sleep } from '../../util/index.ts';
import type { ControlLoopOptions } from './control-loop-types.ts';

/** How long the loops wait for a robot_description (policy.joints) before they start; without it they fail to. */
const DESCRIPTION_WAIT_MS = 10_000;

/**
 * policy.joints' limits for the control loops (a URDF file, or the robot_description topic), open while the
 * control component runs: each loop's joint command is held to them as they are when it starts.
 */
export class LoopJointLimits {
  readonly #ctx: Pick<ComponentContext, 'config' | 'bus' | 'definitions' | 'log'>;
  #source: JointLimitsSource | undefined;
  #error = '';

  constructor(ctx: Pick<ComponentContext, 'config' | 'bus' | 'definitions' | 'log'>) {
    this.#ctx = ctx;
  }

  /** Opens the limits; a description published latched arrives just after the subscription, and is waited for. */
  async open(): Promise<void> {
    const { config, bus, definitions, log } = this.#ctx;
    const settings = config.policy.joints;
    if (!settings) return;
    try {
      this.#source = new JointLimitsSource({ settings, bus, codec: new MessageCodec(definitions), log });
    } catch (error) {
      this.#error = errorText(error);
      return;
    }
    for (let waitedMs = 0; waitedMs < DESCRIPTION_WAIT_MS; waitedMs += 25) {
      if (typeof this.#source.current() !== 'string') return;
      await sleep(25);
    }
  }

  close(): void {
    this.#source?.close();
    this.#source = undefined;
  }

  /** A loop's `joints` option: none without policy.joints. */
  options(): Pick<ControlLoopOptions, 'joints'> {
    const settings = this.#ctx.config.policy.joints;
    if (!settings) return {};
    const { mode, max_step, limits } = settings;
    return {
      joints: {
        current: () => this.#source?.current() ?? (this.#error || 'policy.joints: the limits are not open'),
        settings: { mode, max_step, limits },
      },
    };
  }
}
