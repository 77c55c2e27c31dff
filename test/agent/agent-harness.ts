import { registerFauxProvider, streamSimple, type FauxProviderRegistration } from '@mariozechner/pi-ai';
import { AgentComponent } from '../../daemon/agent/agent-component.ts';
import type { ModelService } from '../../daemon/agent/model-service.ts';
import { HaltService } from '../../daemon/halt/halt-service.ts';
import { waitFor } from '../helpers/wait.ts';
import type { TestContext } from '../helpers/component-context.ts';

/** Agents and faux providers started by a test file; `stopAgents()` in its afterEach cleans them up. */
const fauxes: FauxProviderRegistration[] = [];
const agents: AgentComponent[] = [];
const stopServices: HaltService[] = [];

export async function stopAgents(): Promise<void> {
  for (const service of stopServices.splice(0)) await service.close();
  for (const agent of agents.splice(0)) await agent.close();
  for (const faux of fauxes.splice(0)) faux.unregister();
}

/** pi-ai's faux provider as the agent's model service. */
export function fauxModel(): { faux: FauxProviderRegistration; model: ModelService } {
  const faux = registerFauxProvider();
  fauxes.push(faux);
  return { faux, model: { streamFn: streamSimple, primaryModel: faux.getModel(), available: () => ({ ok: true }) } };
}

export async function startAgent(
  ctx: TestContext,
  options: ConstructorParameters<typeof AgentComponent>[1] = {},
): Promise<AgentComponent> {
  const agent = new AgentComponent(ctx, options);
  agents.push(agent);
  await agent.start();
  return agent;
}

/**
 * The daemon's stop component on the test's bus (the bus query agent/stop). It reaches the agent as in the
 * daemon, through the component map: `agent` is put there, as the supervisor puts a started one.
 */
export async function serveStop(ctx: TestContext, agent?: AgentComponent): Promise<HaltService> {
  if (agent) ctx.components.set('agent', agent);
  const service = new HaltService(ctx);
  stopServices.push(service);
  await service.start();
  return service;
}

/** For a test that stops an agent itself (a restart): it is no longer stopped after the test. */
export function forgetAgent(agent: AgentComponent): void {
  const i = agents.indexOf(agent);
  if (i >= 0) agents.splice(i, 1);
}

/** Waits until a run reaches one of `statuses` (by default any end); returns it with its events. */
export async function settled(
  agent: AgentComponent,
  runId: string,
  statuses = ['succeeded', 'failed', 'cancelled', 'interrupted'],
) {
  await waitFor(
    () => statuses.includes(agent.getRun(runId)?.run.status ?? ''),
    `run ${runId} to reach ${statuses.join('|')} (is ${agent.getRun(runId)?.run.status})`,
    20_000,
  );
  return agent.getRun(runId)!;
}
