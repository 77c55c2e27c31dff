import { describe, expect, it } from 'vitest';
import type { PolicyHook } from '../contract/policy-hook.ts';
import { runPolicyChain } from './policy-chain.ts';

describe('policy hook chain', () => {
  it('threads rewrites, stops at the first deny and names every rule that fired', async () => {
    const clamp: PolicyHook = {
      name: 'limits',
      beforeToolCall: (_c, input) => ({
        action: 'rewrite',
        rule: 'max_linear_x',
        reason: 'clamped 2.0 to 0.22',
        value: { x: 0.22, was: input },
      }),
    };
    const deny: PolicyHook = {
      name: 'allowlist',
      beforeToolCall: () => ({ action: 'deny', rule: 'topic_allowlist', reason: '/arm is not allowed' }),
    };
    const never: PolicyHook = {
      name: 'never',
      beforeToolCall: () => {
        throw new Error('must not run after a deny');
      },
    };
    const pick = (h: PolicyHook, v: unknown) => h.beforeToolCall?.({} as never, v);
    const allowed = await runPolicyChain([clamp], { x: 2 }, pick);
    expect(allowed).toEqual({
      allowed: true,
      value: { x: 0.22, was: { x: 2 } },
      fired: [{ hook: 'limits', rule: 'max_linear_x', action: 'rewrite', reason: 'clamped 2.0 to 0.22' }],
    });
    const denied = await runPolicyChain([clamp, deny, never], { x: 2 }, pick);
    expect(denied).toMatchObject({ allowed: false, reason: 'topic_allowlist: /arm is not allowed' });
    expect(denied.fired.map((f) => f.rule)).toEqual(['max_linear_x', 'topic_allowlist']);
  });
});
