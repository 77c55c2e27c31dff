import { isAgentService, SERVICE_NAMES, type AgentService, type LakehouseService } from '../contract/index.ts';
import type { ComponentContext } from '../lifecycle/index.ts';
import { unavailable } from './errors.ts';

function isLakehouse(value: unknown): value is LakehouseService {
  return typeof (value as Partial<LakehouseService> | undefined)?.query === 'function';
}

/** Why a component is not there, in words: not configured, failed (with its reason), or still starting. */
export function absentReason(ctx: Pick<ComponentContext, 'daemonStatus'>, name: string): string {
  const health = ctx.daemonStatus().components[name];
  if (!health) return `component ${name} is not running (not enabled in the config)`;
  return `component ${name} is ${health.state}${health.reason ? `: ${health.reason}` : ''}`;
}

export function findAgent(ctx: Pick<ComponentContext, 'components'>): AgentService | undefined {
  const c = ctx.components.get(SERVICE_NAMES.agent);
  return isAgentService(c) ? c : undefined;
}

/** The agent, or a 503 naming why it is absent. */
export function requireAgent(ctx: Pick<ComponentContext, 'components' | 'daemonStatus'>): AgentService {
  const agent = findAgent(ctx);
  if (!agent) throw unavailable('the agent', absentReason(ctx, SERVICE_NAMES.agent));
  return agent;
}

export function requireLakehouse(ctx: Pick<ComponentContext, 'components' | 'daemonStatus'>): LakehouseService {
  const c = ctx.components.get(SERVICE_NAMES.lakehouse);
  if (!isLakehouse(c)) throw unavailable('the lakehouse', absentReason(ctx, SERVICE_NAMES.lakehouse));
  return c;
}
