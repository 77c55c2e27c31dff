import { Value } from 'typebox/value';
import { MotionConfig } from '../../daemon/config/sections/motion.ts';
import { AgentRulesConfig } from '../../daemon/config/sections/system2.ts';
import type { HookSettings } from '../../daemon/policy/index.ts';

const MOTION_KEYS = new Set(['velocity', 'geofence', 'joints', 'non_actuating', 'stop']);

/**
 * The hooks' settings from the keys a test sets, each where the config has it: motion's (velocity, geofence, joints,
 * non_actuating) under motion, the rest under agent.rules; every other key at its default.
 */
export function hookSettings(keys: Record<string, unknown> = {}): HookSettings {
  const motion: Record<string, unknown> = {};
  const rules: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(structuredClone(keys)))
    (MOTION_KEYS.has(key) ? motion : rules)[key] = value;
  return {
    motion: Value.Default(MotionConfig, motion) as HookSettings['motion'],
    rules: Value.Default(AgentRulesConfig, rules) as HookSettings['rules'],
  };
}
