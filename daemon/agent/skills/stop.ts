import Type from 'typebox';
import { defineSkill, type SkillEnv } from './skill.ts';

export const stop = defineSkill({
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

/**
 * Stops the robot now, with nothing before it that can wait: the motion skill that drives it (navigation,
 * a policy) is aborted with `reason`, then a zero Twist goes through the gate, which drops the commands
 * still queued from before. Returns the aborted skill's name, or null. The `stop` skill and the
 * operator's stop (POST /stop) both do exactly this.
 */
export function haltRobot(env: Pick<SkillEnv, 'motion' | 'gate'>, reason: string): string | null {
  const cancelled = env.motion.abort(reason) ?? null;
  env.gate.halt();
  return cancelled;
}
