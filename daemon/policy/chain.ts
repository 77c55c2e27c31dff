import type { ChainOutcome, PolicyDecision, PolicyHook, PolicyRecord } from '../contract/index.ts';

/** The one plain allow every hook returns: a decision is only read, so they need not make one per call. */
export const ALLOW: { readonly action: 'allow' } = Object.freeze({ action: 'allow' });

type Pick<T> = (hook: PolicyHook, value: T) => PolicyDecision<T> | Promise<PolicyDecision<T>> | undefined;

/**
 * The contract's runPolicyChain with the same semantics (hooks in order, rewrites threaded, the first deny
 * stops the chain), but synchronous while the hooks decide synchronously: the configured hooks all do, and
 * a tool call runs the chain twice, so awaiting each of them would cost a microtask hop per hook. A hook
 * that returns a promise is awaited, and so is the rest of the chain.
 */
export function runHooks<T>(
  hooks: readonly PolicyHook[],
  value: T,
  pick: Pick<T>,
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

/** The hooks that take part in one stage, so a stage does not visit hooks that have nothing to say. */
export function hooksWith(
  hooks: readonly PolicyHook[],
  stage: 'onIntent' | 'beforeToolCall' | 'afterToolCall',
): PolicyHook[] {
  return hooks.filter((hook) => typeof hook[stage] === 'function');
}

async function finishAsync<T>(
  hooks: readonly PolicyHook[],
  from: number,
  pending: Promise<PolicyDecision<T>>,
  value: T,
  fired: PolicyRecord[],
  pick: Pick<T>,
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
