import type { Intent, RunState, ToolResult } from './schemas.ts';

/**
 * What a policy hook decides. `rewrite` replaces the value (a clamped velocity, a trimmed result) and the
 * next hook sees the rewritten value. Every decision other than a plain allow names the rule that fired,
 * so it can be logged as an AgentEvent.
 */
export type PolicyDecision<T> =
  | { action: 'allow' }
  | { action: 'deny'; rule: string; reason: string }
  | { action: 'rewrite'; rule: string; reason: string; value: T };

/** A tool call about to run (before) or that ran (after). */
export interface ToolCallContext {
  run: RunState;
  intent: Intent;
  tool: string;
  /** Calls so far in this run, this one included. */
  callIndex: number;
}

/**
 * A policy hook. It is a frame: it runs deterministic code around every intent and tool call and is never
 * asked of a model. Hooks run in order; the first deny stops the chain.
 */
export interface PolicyHook {
  readonly name: string;
  onIntent?(intent: Intent): PolicyDecision<Intent> | Promise<PolicyDecision<Intent>>;
  beforeToolCall?(ctx: ToolCallContext, input: unknown): PolicyDecision<unknown> | Promise<PolicyDecision<unknown>>;
  afterToolCall?(
    ctx: ToolCallContext,
    input: unknown,
    result: ToolResult,
  ): PolicyDecision<ToolResult> | Promise<PolicyDecision<ToolResult>>;
}

/** One fired rule, for the event log. */
export interface PolicyRecord {
  hook: string;
  rule: string;
  action: 'deny' | 'rewrite';
  reason: string;
}

export type ChainOutcome<T> =
  { allowed: true; value: T; fired: PolicyRecord[] } | { allowed: false; fired: PolicyRecord[]; reason: string };

type PickDecision<T> = (hook: PolicyHook, value: T) => PolicyDecision<T> | Promise<PolicyDecision<T>> | undefined;

/**
 * The one policy-chain runner (the agent's tool calls and intents, a Foxglove teleop's publishes): `pick(hook)`
 * over the hooks in order, rewrites threaded, the first deny stops the chain. Synchronous while the hooks decide
 * synchronously (the configured hooks all do, and a tool call runs the chain twice, so awaiting each would cost
 * a microtask hop per hook); a hook that returns a promise is awaited, and so is the rest of the chain.
 */
export function runPolicyChain<T>(
  hooks: readonly PolicyHook[],
  value: T,
  pick: PickDecision<T>,
): ChainOutcome<T> | Promise<ChainOutcome<T>> {
  const fired: PolicyRecord[] = [];
  let current = value;
  for (let i = 0; i < hooks.length; i++) {
    const decision = pick(hooks[i]!, current);
    if (isPromise(decision)) return finishAsync(hooks, i, decision, current, fired, pick);
    if (!decision || decision.action === 'allow') continue;
    fired.push(recordOf(hooks[i]!, decision));
    if (decision.action === 'deny') return { allowed: false, fired, reason: `${decision.rule}: ${decision.reason}` };
    current = decision.value;
  }
  return { allowed: true, value: current, fired };
}

async function finishAsync<T>(
  hooks: readonly PolicyHook[],
  from: number,
  pending: Promise<PolicyDecision<T>>,
  value: T,
  fired: PolicyRecord[],
  pick: PickDecision<T>,
): Promise<ChainOutcome<T>> {
  let current = value;
  let decision: PolicyDecision<T> | undefined = await pending;
  for (let i = from; i < hooks.length; i++) {
    if (i > from) decision = await pick(hooks[i]!, current);
    if (!decision || decision.action === 'allow') continue;
    fired.push(recordOf(hooks[i]!, decision));
    if (decision.action === 'deny') return { allowed: false, fired, reason: `${decision.rule}: ${decision.reason}` };
    current = decision.value;
  }
  return { allowed: true, value: current, fired };
}

function recordOf(hook: PolicyHook, decision: Exclude<PolicyDecision<unknown>, { action: 'allow' }>): PolicyRecord {
  return { hook: hook.name, rule: decision.rule, action: decision.action, reason: decision.reason };
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function';
}
