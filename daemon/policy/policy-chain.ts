import type { ChainOutcome, PickDecision, PolicyDecision, PolicyHook, PolicyRecord } from '../contract/index.ts';

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
