import type { AgentRulesSettings } from '../config/index.ts';
import type { PolicyHook } from '../contract/index.ts';
import type { Intent } from '../contract/index.ts';
import { ALLOW } from '../contract/index.ts';

export interface RunQuotas {
  maxToolCalls: number;
  maxTokens: number;
  maxWallS: number;
}

/** A run's quotas: the config's, lowered (never raised) by the intent's policy_ctx. */
export function runQuotas(quotas: AgentRulesSettings['quotas'], intent: Intent): RunQuotas {
  const ctx = intent.policy_ctx;
  return {
    maxToolCalls: Math.min(quotas.max_tool_calls, ctx.max_tool_calls ?? Infinity),
    maxTokens: Math.min(quotas.max_tokens, ctx.max_tokens ?? Infinity),
    maxWallS: Math.min(quotas.max_wall_s, ctx.max_wall_s ?? Infinity),
  };
}

/**
 * The name of the tool-call quota hook. It counts an agent run's calls, so other ways of acting that pass
 * the same hooks but are not runs (a Foxglove teleop session) leave it out by this name.
 */
export const TOOL_CALL_QUOTA_HOOK = 'quota';
/** The rule that fires past the quota: the agent ends the run on it. */
export const TOOL_CALL_QUOTA_RULE = 'quota.tool_calls';

/** Why call `n` of a run is past its quota of `max` tool calls; undefined while it is within. */
export function toolCallOverQuota(n: number, max: number): string | undefined {
  return n <= max ? undefined : `call ${n} exceeds the run's quota of ${max} tool calls`;
}

/** Tool calls per run. Tokens and wall time are enforced by the run itself, which can stop the model. */
export function toolCallQuotaHook(quotas: AgentRulesSettings['quotas']): PolicyHook {
  return {
    name: TOOL_CALL_QUOTA_HOOK,
    beforeToolCall(ctx) {
      // Cheap before the quota is near: the intent can only lower it.
      if (ctx.callIndex <= Math.min(quotas.max_tool_calls, ctx.intent.policy_ctx.max_tool_calls ?? Infinity))
        return ALLOW;
      const over = toolCallOverQuota(ctx.callIndex, runQuotas(quotas, ctx.intent).maxToolCalls);
      return over ? { action: 'deny', rule: TOOL_CALL_QUOTA_RULE, reason: over } : ALLOW;
    },
  };
}
