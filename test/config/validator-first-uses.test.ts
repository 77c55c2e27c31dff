// A Validator interprets its schema for its first uses and compiles it after (a client command checks one config once;
// compiling the config's schema was a fifth of `status`'s start). Both ways must judge alike and say the same.
import type { TSchema } from 'typebox';
import { describe, expect, it } from 'vitest';
import { EdgeConfigSchema } from '../../daemon/config/schema.ts';
import { Intent } from '../../daemon/contract/index.ts';
import { Validator } from '../../daemon/util/index.ts';

/** What one validator says about `values` while it interprets its schema, then once it has compiled it. */
function bothWays(schema: TSchema, values: unknown[]): { interpreted: unknown[]; compiled: unknown[] } {
  const judge = (v: Validator<TSchema>, value: unknown) => ({ check: v.check(value), issues: v.issues(value) });
  const interpreted = values.map((value) => judge(new Validator(schema), value));
  const warm = new Validator(schema);
  for (let i = 0; i < 3; i++) warm.check({});
  return { interpreted, compiled: values.map((value) => judge(warm, value)) };
}

describe('a validator, interpreting its schema at first and compiled after', () => {
  it('judges configs alike and names the same key paths, expectations and did-you-means', () => {
    const { interpreted, compiled } = bothWays(EdgeConfigSchema, [
      {},
      { sim: { enabled: true } },
      { recorder: { split: { max_bytes: '1GB' } } },
      { api: { port: 70000, hots: '0.0.0.0' } },
      { zenoh: { mapping: 'rmw-zenoh', topics: [1, '/scan'] } },
      { policies: { avoid: { inputs: {} } } },
      [],
    ]);
    expect(interpreted).toEqual(compiled);
    // Not a vacuous pass: the bad ones were refused, with the messages a user reads.
    const issues = interpreted.flatMap((r) => (r as { issues: { path: string; message: string }[] }).issues);
    expect(issues.length).toBeGreaterThan(4);
    expect(issues).toContainEqual({ path: 'api.hots', message: expect.stringContaining('did you mean "host"') });
  });

  it('judges intents from outside alike', () => {
    const { interpreted, compiled } = bothWays(Intent, [
      { intent_id: 'x', type: 'navigate_to', params: {}, policy_ctx: {}, targets: [] },
      { intent_id: 1, type: '', params: [], targets: Array.from({ length: 100 }, () => 'r') },
      null,
    ]);
    expect(interpreted).toEqual(compiled);
  });
});
