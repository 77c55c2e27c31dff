import Type from 'typebox';
import { defineSkill } from './skill.ts';

export const navigateTo = defineSkill({
  name: 'navigate_to',
  description: 'Drive the robot to a point (x, y) in the map frame, metres, avoiding obstacles (A* path planning). Returns when it arrives or fails.',
  parameters: Type.Object({ x: Type.Number({ description: 'metres, map frame' }), y: Type.Number({ description: 'metres, map frame' }) }, { additionalProperties: false }),
  motion: true,
  async execute({ x, y }, env, signal) {
    const navigation = env.navigation();
    if (!navigation) throw new Error('navigation is unavailable: no navigator is running');
    const result = await navigation.navigateTo({ x, y }, { timeoutS: env.settings.navigation.timeout_s, signal });
    if (!result.reached) throw new Error(`navigation to (${x}, ${y}) failed (${result.outcome}): ${result.message}`);
    return { reached: true, goal: { x, y }, message: result.message };
  },
});
