import { describe, expect, it } from 'vitest';
import { newId } from '../util/ids.ts';
import { ValidationError, Validator } from '../util/validate.ts';
import { AgentEvent, Intent, ProjectionEvent, RunState, ToolCall } from './schemas.ts';

const intent = () => ({
  intent_id: newId(),
  type: 'navigate_to',
  params: { x: 1, y: 2 },
  policy_ctx: { actor: 'operator', source: 'http' },
  targets: ['tb3-01'],
});

describe('contract validation', () => {
  const intents = new Validator(Intent);

  it('accepts well-formed primitives', () => {
    expect(intents.issues(intent())).toEqual([]);
    const ts = '1732190000000000000';
    expect(
      new Validator(RunState).issues({
        run_id: newId(),
        intent_id: newId(),
        tree_ref: 'navigate_to',
        status: 'running',
        created_at: ts,
        updated_at: ts,
      }),
    ).toEqual([]);
    expect(
      new Validator(AgentEvent).issues({ event_id: newId(), run_id: newId(), kind: 'tool.call', payload: {}, ts }),
    ).toEqual([]);
    expect(
      new Validator(ProjectionEvent).issues({
        event_id: newId(),
        domain: 'nav',
        projection: 'goal_reached',
        payload: { x: 1 },
        ts,
      }),
    ).toEqual([]);
    expect(
      new Validator(ToolCall).issues({
        call_id: 'c1',
        run_id: newId(),
        tool: 'publish',
        input_schema: {},
        output_schema: {},
        input: { topic: '/cmd_vel' },
        result: { ok: false, error: 'denied' },
      }),
    ).toEqual([]);
  });

  it('gives each problem with its path', () => {
    const bad = {
      ...intent(),
      intent_id: 'not-a-uuid',
      targets: ['ok', ''],
      policy_ctx: { source: 'email' },
      extra: 1,
    };
    const issues = intents.issues(bad);
    expect(issues).toContainEqual({
      path: 'intent_id',
      message: expect.stringMatching(/^expected string matching .* got "not-a-uuid"$/),
    });
    expect(issues).toContainEqual({ path: 'targets[1]', message: 'expected string of 1 to 256 characters, got ""' });
    expect(issues).toContainEqual({
      path: 'policy_ctx.source',
      message: expect.stringMatching(/^expected one of "http", "mqtt".* got "email"$/),
    });
    expect(issues).toContainEqual({ path: 'extra', message: expect.stringMatching(/^unknown key/) });
  });

  it("names unknown keys even past the error cap (64), where the parent object's error is cut off", () => {
    const bad: Record<string, unknown> = { ...intent(), tpye: 'x' };
    for (let i = 0; i < 70; i++) bad[`k${i}`] = i;
    const issues = intents.issues(bad);
    expect(issues[0]).toEqual({ path: 'tpye', message: 'unknown key (did you mean "type"?)' });
    expect(issues[1]).toEqual({
      path: 'k0',
      message: expect.stringMatching(/^unknown key \(known keys: intent_id, type/),
    });
  });

  it('states a length bound as one range, with the unit in the singular for 1', async () => {
    const { default: Type } = await import('typebox');
    const message = (schema: Parameters<typeof Type.Object>[0][string], value: unknown) =>
      new Validator(Type.Object({ v: schema })).issues({ v: value })[0]?.message;
    expect(message(Type.String({ minLength: 1 }), '')).toBe('expected string of at least 1 character, got ""');
    expect(message(Type.String({ maxLength: 3 }), 'abcd')).toBe('expected string of at most 3 characters, got "abcd"');
    expect(message(Type.String({ minLength: 2, maxLength: 2 }), 'a')).toBe('expected string of 2 characters, got "a"');
    expect(message(Type.Array(Type.Number(), { minItems: 1, maxItems: 4 }), [])).toBe(
      'expected array of 1 to 4 items, got []',
    );
    expect(message(Type.Array(Type.Number(), { minItems: 0, maxItems: 1 }), [1, 2])).toBe(
      'expected array of at most 1 item, got [1,2]',
    );
  });

  it('refuses an array over its maxItems by its length, without walking its items', () => {
    const targets = Array.from({ length: 100_000 }, (_, i) => `robot-${i}`);
    const issues = intents.issues({
      ...intent(),
      targets,
      policy_ctx: { actor: 'operator', source: 'http', extra: 1 },
    });
    expect(issues).toEqual([
      { path: 'targets', message: 'expected array of at most 64 items, got an array of 100000 items' },
    ]);
  });

  it('names the key "" (JSON pointer "/"), not the value itself', () => {
    expect(intents.issues({ ...intent(), '': 1 })).toEqual([
      { path: '[""]', message: expect.stringMatching(/^unknown key/) },
    ]);
  });

  it('reports the branch a sender meant in a union, not every branch', () => {
    const calls = new Validator(ToolCall);
    const issues = calls.issues({
      call_id: 'c',
      run_id: newId(),
      tool: 'publish',
      input_schema: {},
      output_schema: {},
      input: 1,
      result: { ok: false },
    });
    expect(issues).toEqual([{ path: 'result.error', message: 'required' }]);
  });

  it('parse() throws a ValidationError naming what was validated', () => {
    expect(() => intents.parse({}, 'POST /intents body')).toThrow(ValidationError);
    expect(() => intents.parse({}, 'POST /intents body')).toThrow(/^POST \/intents body: intent_id: required/);
  });

  it('makes time-sortable UUIDv7 ids', () => {
    const a = newId();
    const b = newId();
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a < b).toBe(true);
  });
});
