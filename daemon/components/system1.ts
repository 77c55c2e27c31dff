import { modelFingerprint } from '../system1/onnx-model-file.ts';
import type { EdgeConfig } from '../config/index.ts';
import type { ValidationIssue } from '../util/index.ts';
import { defineComponent, type ComponentSpec } from '../lifecycle/index.ts';
import { AGENT_PORTS } from '../agent/services.ts';
import { PORTS } from '../contract/index.ts';
import { SYSTEM1_PORTS } from '../system1/ports.ts';

/**
 * Each policy's model file and every external data file it names (any name: each initializer's
 * external_data location), as size and mtime: part of the settings, so a SIGHUP after a model or its
 * weights were replaced in place restarts what runs it, as a changed config would. A missing file is
 * recorded as such (the restart then fails and says why, as a start would).
 */
function modelFiles(config: EdgeConfig): Record<string, string> {
  return Object.fromEntries(
    Object.entries(config.policies).map(([name, p]) => [
      name,
      p.model === undefined ? 'remote' : modelFingerprint(p.model),
    ]),
  );
}

/** Whether a policy that runs (served, or a loop's) takes a camera: its frames need the decode processes. */
function runsCameras(config: EdgeConfig): boolean {
  const looped = new Set(Object.values(config.control.loops).map((l) => l.policy));
  return Object.entries(config.policies).some(
    ([name, p]) => (p.serve || looped.has(name)) && Object.values(p.inputs).some((i) => i.image),
  );
}

const cameras = { port: SYSTEM1_PORTS.decodePool, when: runsCameras };

/**
 * System 1, in start order: `cameras` holds the decode processes camera frames share; `policies` serves
 * ai/inference/vla/<name>; `control` runs the fixed-rate loops (each in a worker thread). Both load onnxruntime only
 * when configured.
 */
export const SYSTEM1_COMPONENTS: readonly ComponentSpec[] = [
  defineComponent({
    name: 'cameras',
    enabled: runsCameras,
    settings: (config) => config.cameras,
    provides: [SYSTEM1_PORTS.decodePool],
    create: async (ctx) => {
      const { CamerasComponent } = await import('../system1/cameras-component.ts');
      const component = new CamerasComponent(ctx);
      ctx.provide(SYSTEM1_PORTS.decodePool, component.pool);
      return component;
    },
  }),
  defineComponent({
    name: 'policies',
    enabled: (config) => Object.values(config.policies).some((p) => p.serve && !p.remote),
    settings: (config) => ({ policies: config.policies, models: modelFiles(config) }),
    startTimeout: (config) => ({ ms: config.control.start_timeout_s * 1000, key: 'control.start_timeout_s' }),
    needs: { cameras },
    create: async (ctx, { cameras: pool }) => {
      const { PoliciesComponent } = await import('../system1/policies-component.ts');
      return new PoliciesComponent(ctx, pool);
    },
  }),
  defineComponent({
    name: 'control',
    enabled: (config) => Object.keys(config.control.loops).length > 0,
    provides: [AGENT_PORTS.policies, PORTS.loops],
    // A loop whose policy another daemon serves asks it over the Zenoh link, when there is one.
    uses: [PORTS.graphQueries],
    // motion.velocity too: loops clamp their Twist commands to it, so a new limit restarts them. And
    // motion.stop.latch: the loops obey the latch only when it is on, as read at their start.
    settings: (config) => ({
      control: config.control,
      policies: config.policies,
      models: modelFiles(config),
      velocity: config.motion.velocity,
      stop_latch: config.motion.stop.latch,
    }),
    startTimeout: (config) => ({ ms: config.control.start_timeout_s * 1000, key: 'control.start_timeout_s' }),
    needs: { cameras },
    create: async (ctx, { cameras: pool }) => {
      const { ControlComponent } = await import('../system1/control/control-component.ts');
      const control = new ControlComponent(ctx, { decodePool: pool });
      ctx.provide(AGENT_PORTS.policies, control);
      ctx.provide(PORTS.loops, control);
      return control;
    },
  }),
];

/**
 * What the policies and control components would refuse on every start (a model missing or not fitting its manifest,
 * a loop its policy cannot run), found before either starts; the checks load only for a config that runs one of them.
 */
export async function system1StartIssues(config: EdgeConfig): Promise<ValidationIssue[]> {
  if (!SYSTEM1_COMPONENTS.some((spec) => spec.enabled(config))) return [];
  const { policyStartIssues } = await import('../system1/policy-check.ts');
  return policyStartIssues(config);
}
