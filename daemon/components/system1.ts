import type { ComponentSpec } from '../lifecycle/component.ts';

/**
 * Components of issue 4, in start order: `policies` serves ai/inference/vla/<name>; `control` runs the
 * fixed-rate loops (each in a worker thread). Both load onnxruntime only when configured.
 */
export const SYSTEM1_COMPONENTS: readonly ComponentSpec[] = [
  {
    name: 'policies',
    enabled: (config) => Object.values(config.policies).some((p) => p.serve),
    settings: (config) => config.policies,
    startTimeout: (config) => ({ ms: config.control.start_timeout_s * 1000, key: 'control.start_timeout_s' }),
    create: async (ctx) => {
      const { PoliciesComponent } = await import('../../adapters/lerobot/policies-component.ts');
      return new PoliciesComponent(ctx);
    },
  },
  {
    name: 'control',
    enabled: (config) => Object.keys(config.control.loops).length > 0,
    // policy.velocity too: loops clamp their Twist commands to it, so a new limit restarts them.
    settings: (config) => ({ control: config.control, policies: config.policies, velocity: config.policy.velocity }),
    startTimeout: (config) => ({ ms: config.control.start_timeout_s * 1000, key: 'control.start_timeout_s' }),
    create: async (ctx) => {
      const { ControlComponent } = await import('../control/control-component.ts');
      return new ControlComponent(ctx);
    },
  },
];
