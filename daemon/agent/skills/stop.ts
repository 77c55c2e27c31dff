import Type from 'typebox';
import { defineSkill } from './skill.ts';

export const stop = defineSkill({
  name: 'stop',
  description: 'Stop the robot now: cancel any navigation or policy and send zero velocity.',
  parameters: Type.Object({}, { additionalProperties: false }),
  motion: false,
  cancellable: false,
  async execute(_args, env) {
    const cancelled = env.motion.abort('stopped by the stop skill') ?? null;
    env.gate.halt();
    return { stopped: true, cancelled };
  },
});
