import { describe, expect, it } from 'vitest';
import type { PolicyDecision, PolicyHook } from '../contract/policy-hook.ts';
import { runPolicyChain } from './policy-chain.ts';
import { hooksWith } from './chain.ts';

type D = PolicyDecision<number>;

/** A hook deciding `decide(value)`, synchronously or through a promise. */
function hook(name: string, decide: (value: number) => D, async = false): PolicyHook {
  const made: PolicyHook = {
    name,
    beforeToolCall: (_ctx, value) => {
      const decision = decide(value as number) as PolicyDecision<unknown>;
      return async ? Promise.resolve(decision) : decision;
    },
  };
  decisions.set(made, decide);
  return made;
}

const allow = (): D => ({ action: 'allow' });
const double = (v: number): D => ({ action: 'rewrite', rule: 'x.double', reason: 'doubled', value: v * 2 });
const denyOver =
  (max: number) =>
  (v: number): D =>
    v > max ? { action: 'deny', rule: 'x.max', reason: `${v} > ${max}` } : { action: 'allow' };

/** What a hook decides, read synchronously (its promise's value is not needed: decide is kept alongside). */
const decisions = new WeakMap<PolicyHook, (value: number) => D>();
const decideSync = (h: PolicyHook, v: number): D => decisions.get(h)!(v);

const pick = (h: PolicyHook, value: number) =>
  h.beforeToolCall?.(undefined as never, value) as D | Promise<D> | undefined;

describe('runPolicyChain', () => {
  const chains: [string, PolicyHook[]][] = [
    ['allow only', [hook('a', allow), hook('b', allow)]],
    ['rewrites thread through', [hook('a', double), hook('b', double), hook('c', denyOver(100))]],
    ['the first deny stops the chain', [hook('a', double), hook('b', denyOver(5)), hook('c', double)]],
    [
      'an async hook in the middle',
      [hook('a', double), hook('b', double, true), hook('c', denyOver(10)), hook('d', double)],
    ],
    ['async hooks throughout', [hook('a', double, true), hook('b', allow, true), hook('c', double, true)]],
  ];

  for (const [name, hooks] of chains) {
    it(`decides the same through sync and async hooks: ${name}`, async () => {
      // The same hooks all made synchronous: the chain must decide alike whichever way they answer.
      const sync = hooks.map((h) => hook(h.name, (v) => decideSync(h, v)));
      for (const value of [1, 3, 40])
        expect(await runPolicyChain(hooks, value, pick)).toEqual(await runPolicyChain(sync, value, pick));
    });
  }

  it('answers synchronously while every hook does, and with a promise once one does not', () => {
    const sync = runPolicyChain([hook('a', double), hook('b', denyOver(5))], 3, pick);
    expect(sync).toEqual({
      allowed: false,
      fired: [
        { hook: 'a', rule: 'x.double', action: 'rewrite', reason: 'doubled' },
        { hook: 'b', rule: 'x.max', action: 'deny', reason: '6 > 5' },
      ],
      reason: 'x.max: 6 > 5',
    });
    expect(runPolicyChain([hook('a', double), hook('b', allow, true)], 3, pick)).toBeInstanceOf(Promise);
  });

  it('skips hooks that have nothing to say at a stage', () => {
    const onlyAfter: PolicyHook = { name: 'after', afterToolCall: () => ({ action: 'allow' }) };
    const both = hook('both', allow);
    expect(hooksWith([onlyAfter, both], 'beforeToolCall')).toEqual([both]);
    expect(hooksWith([onlyAfter, both], 'afterToolCall')).toEqual([onlyAfter]);
  });
});
