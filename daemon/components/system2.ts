import type { ComponentSpec } from '../lifecycle/index.ts';

/**
 * Components of issue 5, in start order: `llm` (System 2 endpoints and the ai/inference/llm/* queries),
 * then `agent` (intents, runs, skills, policy hooks), which finds `llm` in the live component map.
 */
export const SYSTEM2_COMPONENTS: readonly ComponentSpec[] = [
  {
    name: 'llm',
    enabled: () => true,
    settings: (config) => config.llm,
    create: async (ctx) => {
      const { LlmComponent } = await import('../../adapters/vllm/index.ts');
      return new LlmComponent(ctx);
    },
  },
  {
    name: 'agent',
    enabled: (config) => config.agent.enabled,
    // The velocity topic is where its gate publishes: a new one needs a new gate, so a restart.
    settings: (config) => ({ agent: config.agent, policy: { velocity: { topic: config.policy.velocity.topic } } }),
    // The rest of policy.* goes to the running agent (applySettings): a tighter limit must not end a run.
    // So does the sim's speed, which stretches its navigator's watchdogs.
    liveSettings: (config) => ({
      policy: config.policy,
      sim: { enabled: config.sim.enabled, speed: config.sim.speed },
    }),
    create: async (ctx) => {
      const { AgentComponent } = await import('../agent/agent-component.ts');
      return new AgentComponent(ctx);
    },
  },
];
