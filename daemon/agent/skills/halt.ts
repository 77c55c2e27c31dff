import Type from 'typebox';
import type { HaltOrder } from '../../halt/index.ts';
import { defineSkill, type SkillEnv } from './skill.ts';
import { errorText } from '../../util/index.ts';

export const halt = defineSkill({
  name: 'stop',
  description:
    "Stop the robot now, as the operator's stop does: cancel any navigation or policy, send zero velocity, hold an arm where it is, and latch until a person releases it.",
  parameters: Type.Object({}, { additionalProperties: false }),
  motion: false,
  cancellable: false,
  actsFirst: true,
  async execute(_args, env) {
    if (!env.halt || env.runId === undefined)
      return { stopped: true, cancelled: haltRobot(env, 'stopped by the stop skill') };
    // The operator's stop: its first tick aborts the motion and sends the zero Twist through the agent's own hook,
    // holds the arm, ends the loops' and goals' drive and latches. Its event and latch file are written after.
    const tick = env.halt({ by: 'the stop skill', spare: env.runId });
    if (tick.zeroError !== undefined) throw new HaltError(tick.aborted, tick.zeroError);
    const notHeld = Object.entries(tick.notHeld);
    // The robot is stopped (and latched) all the same; a run that asked for a stop must not read as a full one.
    if (notHeld.length > 0)
      throw new Error(
        `the robot is stopped, but not every arm is held: ${notHeld.map(([topic, why]) => `${topic}: ${why}`).join('; ')}`,
      );
    return { stopped: true, cancelled: tick.aborted, ...(tick.held.length > 0 ? { held: tick.held } : {}) };
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
