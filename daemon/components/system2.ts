import { PORTS } from '../contract/index.ts';
import { defineComponent, type ComponentContext, type ComponentSpec } from '../lifecycle/index.ts';
import type { AgentComponent } from '../agent/agent-component.ts';
import { AGENT_PORTS } from '../agent/services.ts';

/**
 * System 2, in start order: `llm` (System 2 endpoints and the ai/inference/llm/* queries), then `agent` (intents,
 * runs, skills, policy hooks), which asks for the model through its port at each run.
 */
export const SYSTEM2_COMPONENTS: readonly ComponentSpec[] = [
  defineComponent({
    name: 'llm',
    enabled: () => true,
    provides: [AGENT_PORTS.model],
    settings: (config) => config.llm,
    create: async (ctx) => {
      const { LlmComponent } = await import('../../adapters/vllm/index.ts');
      const llm = new LlmComponent(ctx);
      ctx.provide(AGENT_PORTS.model, llm);
      return llm;
    },
  }),
  defineComponent({
    name: 'agent',
    enabled: (config) => config.agent.enabled,
    provides: [PORTS.agent, PORTS.externalRuns, PORTS.policyHooks, AGENT_PORTS.motion],
    // Each optional: without a model a natural-language intent fails saying System 2 is unavailable, without a
    // policy runner run_policy does, and without a sim only the configured named poses are known.
    uses: [AGENT_PORTS.model, AGENT_PORTS.policies, AGENT_PORTS.namedPoses],
    // The velocity topic is where its gate publishes: a new one needs a new gate, so a restart.
    settings: (config) => ({
      agent: { ...config.agent, rules: undefined },
      motion: { velocity: { topic: config.motion.velocity.topic } },
    }),
    // agent.rules and motion go to the running agent (applySettings): a tighter limit must not end a run.
    // So does the sim's speed, which stretches its navigator's watchdogs.
    liveSettings: (config) => ({
      rules: config.agent.rules,
      motion: config.motion,
      sim: { enabled: config.sim.enabled, speed: config.sim.speed },
    }),
    create: async (ctx) => {
      const { AgentComponent } = await import('../agent/agent-component.ts');
      return provideAgent(ctx, new AgentComponent(ctx));
    },
  }),
];

/** Registers an agent for every port the agent spec provides: what a test that builds its own agent returns too. */
export function provideAgent(ctx: ComponentContext, agent: AgentComponent): AgentComponent {
  ctx.provide(PORTS.agent, agent);
  ctx.provide(PORTS.externalRuns, agent);
  ctx.provide(PORTS.policyHooks, agent);
  ctx.provide(AGENT_PORTS.motion, agent);
  return agent;
}
