import { errorText } from '../util/index.ts';
import type { JointInputs } from './joint-limits-hook.ts';
import type { JointLimits } from './joint-limits.ts';
import { MeasuredJoints } from './joint-limits-measured.ts';
import { JointLimitsSource, type JointLimitsSourceOptions, type JointsSettings } from './joint-limits-source.ts';

/**
 * `policy.joints` as the hooks read it (JointInputs): the limits and the measured positions, open while the
 * settings are in force. A URDF file that cannot be used (a reload that broke it: `run` and `config check`
 * refuse it before) leaves no limits, and every joint command is refused with why, not passed unlimited.
 */
export class JointSources implements JointInputs {
  readonly settings: JointsSettings;
  readonly measured: MeasuredJoints;
  readonly #limits: JointLimitsSource | undefined;
  readonly #refusal: string;

  constructor(options: JointLimitsSourceOptions) {
    const { settings, bus, codec, log } = options;
    this.settings = settings;
    this.measured = new MeasuredJoints({ bus, codec, topic: settings.state_topic });
    try {
      this.#limits = new JointLimitsSource(options);
      this.#refusal = '';
    } catch (error) {
      this.#refusal = errorText(error);
      log.error({ err: this.#refusal }, `joint limits not loaded, joint commands are refused: ${this.#refusal}`);
    }
  }

  /** The limits in force, or why there are none. */
  limits(): JointLimits | string {
    return this.#limits ? this.#limits.current() : this.#refusal;
  }

  close(): void {
    this.#limits?.close();
    this.measured.close();
  }
}
