import { PORTS, SERVICE_NAMES, type AgentService, type LakehouseService } from '../contract/index.ts';
import type { ComponentContext } from '../lifecycle/index.ts';
import { unavailable } from './errors.ts';

/** Why a component is not there, in words: not configured, failed (with its reason), or still starting. */
export function absentReason(ctx: Pick<ComponentContext, 'daemonStatus'>, name: string): string {
  const health = ctx.daemonStatus().components[name];
  if (!health) return `component ${name} is not running (not enabled in the config)`;
  return `component ${name} is ${health.state}${health.reason ? `: ${health.reason}` : ''}`;
}

export function findAgent(ctx: Pick<ComponentContext, 'ports'>): AgentService | undefined {
  return ctx.ports.get(PORTS.agent);
}

/** The agent, or a 503 naming why it is absent. */
export function requireAgent(ctx: Pick<ComponentContext, 'ports' | 'daemonStatus'>): AgentService {
  const agent = findAgent(ctx);
  if (!agent) throw unavailable('the agent', absentReason(ctx, SERVICE_NAMES.agent));
  return agent;
}

export function requireLakehouse(ctx: Pick<ComponentContext, 'ports' | 'daemonStatus'>): LakehouseService {
  const c = ctx.ports.get(PORTS.lakehouse);
  if (!c) throw unavailable('the lakehouse', absentReason(ctx, SERVICE_NAMES.lakehouse));
  return c;
}
