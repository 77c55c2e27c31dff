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

/** The one plain allow every hook returns: a decision is only read, so they need not make one per call. */
export const ALLOW: { readonly action: 'allow' } = Object.freeze({ action: 'allow' });

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

export type PickDecision<T> = (
  hook: PolicyHook,
  value: T,
) => PolicyDecision<T> | Promise<PolicyDecision<T>> | undefined;
