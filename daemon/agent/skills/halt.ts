import Type from 'typebox';
import type { HaltOrder } from '../../halt/index.ts';
import { defineSkill, type SkillEnv } from './skill.ts';
import { errorText } from '../../util/index.ts';

export const halt = defineSkill({
  name: 'stop',
  description: 'Stop the robot now: cancel any navigation or policy and send zero velocity.',
  parameters: Type.Object({}, { additionalProperties: false }),
  motion: false,
  cancellable: false,
  actsFirst: true,
  async execute(_args, env) {
    return { stopped: true, cancelled: haltRobot(env, 'stopped by the stop skill') };
  },
});

/** The zero Twist could not be sent; `aborted` names the motion skill that was aborted before it, if any. */
export class HaltError extends Error {
  override name = 'HaltError';
  readonly aborted: string | null;
  constructor(aborted: string | null, message: string) {
    super(message);
    this.aborted = aborted;
  }
}

/**
 * Stops the robot now, with nothing before it that can wait: the motion skill that drives it (navigation,
 * a policy) is aborted with `reason`, then a zero Twist goes through the gate, which drops the commands
 * still queued from before. Returns the aborted skill's name, or null. `order`: the operator's stop, for the
 * aborted motion to say who stopped it. The `stop` skill and the
 * operator's stop (POST /stop) both do exactly this. A zero Twist the bus refuses (the velocity topic
 * taken with another type) is a HaltError, thrown once the motion is aborted: a stop never skips a step.
 */
export function haltRobot(env: Pick<SkillEnv, 'motion' | 'gate'>, reason: string, order?: HaltOrder): string | null {
  const aborted = env.motion.abort(reason, order) ?? null;
  try {
    env.gate.halt();
  } catch (error) {
    throw new HaltError(
      aborted,
      `the zero Twist could not be sent to ${env.gate.topic}: ${errorText(error)}${aborted ? ` (${aborted} was aborted)` : ''}`,
    );
  }
  return aborted;
}
