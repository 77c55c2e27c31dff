import Type from 'typebox';
import { defineSkill } from './skill.ts';

export const startLoop = defineSkill({
  name: 'start_loop',
  description:
    "Let an autostart control loop (control.loops.<name>) drive again after the operator's stop was released: until started, it holds its safe action.",
  parameters: Type.Object({ name: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false }),
  // It does not drive itself: the loop does, in its own thread. The stop latch refuses it while latched.
  motion: false,
  cancellable: false,
  async execute({ name }, env) {
    const runner = env.policies();
    if (!runner) throw new Error('System 1 is not running (no `control` component): there is no loop to start');
    const result = runner.startLoop(name);
    if (!result.ok) throw new Error(result.message);
    return { started: name, message: result.message };
  },
});
