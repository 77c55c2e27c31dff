import Type from 'typebox';
import { describe, expect, it } from 'vitest';
import { newId } from '../util/ids.ts';
import { Intent } from '../contract/schemas.ts';
import { hasOptionalDefaults, NaturalLanguageParams, parseIntent } from './intents.ts';
import { SKILLS } from './skills/index.ts';

const skills = new Map([['stop', SKILLS.stop]]);

describe('parseIntent', () => {
  it('fills defaults when a field is missing, and leaves a complete intent as it was sent', () => {
    const raw = {
      intent_id: newId(),
      type: 'natural_language',
      params: { text: 'stop' },
      policy_ctx: { source: 'http' },
      targets: [],
    };
    const parsed = parseIntent(raw, 'mqtt', skills);
    expect(parsed.intent.policy_ctx).toEqual({ actor: 'anonymous', source: 'mqtt' });
    expect(raw.policy_ctx).toEqual({ source: 'http' }); // the caller's object is not changed
    const complete = { ...raw, policy_ctx: { actor: 'ops', source: 'http' }, created_at: '1' };
    expect(parseIntent(complete, 'cli', skills).intent).toEqual({
      ...complete,
      policy_ctx: { actor: 'ops', source: 'cli' },
    });
  });

  it("fills the defaults of declared validators, leaving goal_reached's to agent.navigation", () => {
    const validators = [
      { type: 'goal_reached' },
      { type: 'topic_predicate', topic: '/battery', field: 'data', op: '>', value: 0.2 },
    ];
    const raw = {
      intent_id: newId(),
      type: 'stop',
      params: { validators },
      policy_ctx: { actor: 'a', source: 'cli' },
      targets: [],
    };
    expect(parseIntent(raw, 'cli', skills).validators).toEqual([
      { type: 'goal_reached' },
      { ...validators[1], timeout_ms: 2000 },
    ]);
  });

  it('knows which schemas can gain fields from defaults even when valid (then defaults are always applied)', () => {
    expect(hasOptionalDefaults(Intent)).toBe(false);
    expect(hasOptionalDefaults(NaturalLanguageParams)).toBe(false);
    expect(hasOptionalDefaults(Type.Object({ a: Type.Optional(Type.Number({ default: 1 })) }))).toBe(true);
    expect(
      hasOptionalDefaults(
        Type.Object({ a: Type.Array(Type.Union([Type.Object({ b: Type.Optional(Type.String({ default: 'x' })) })])) }),
      ),
    ).toBe(true);
    expect(hasOptionalDefaults(Type.Object({ a: Type.Number({ default: 1 }) }))).toBe(false);
  });
});
