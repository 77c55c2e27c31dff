import Type from 'typebox';
import { defineSkill } from './skill.ts';

export const runPolicy = defineSkill({
  name: 'run_policy',
  description: 'Run a named System 1 control policy (an ONNX policy in a fixed-rate loop) for some seconds.',
  parameters: Type.Object(
    {
      name: Type.String({ minLength: 1, maxLength: 128 }),
      seconds: Type.Number({ exclusiveMinimum: 0, maximum: 600 }),
    },
    { additionalProperties: false },
  ),
  motion: true,
  cancellable: true,
  async execute({ name, seconds }, env, signal) {
    const runner = env.policies();
    if (!runner)
      throw new Error(
        'System 1 is not running (no `policies` component): run_policy is unavailable; deterministic navigation still works',
      );
    const result = await runner.runPolicy(name, { seconds, signal });
    if (!result.ok) throw new Error(`policy ${name} failed: ${result.message}`);
    return { ran: name, seconds, message: result.message };
  },
});
