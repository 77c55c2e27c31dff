import { describe, expect, it } from 'vitest';
import { replyCheckSchema, withResponseSchema } from './structured-output.ts';

describe('replyCheckSchema', () => {
  it('drops regular expressions at any depth, and additionalProperties beside patternProperties, keeping names and data', () => {
    const schema = {
      type: 'object',
      properties: {
        pattern: { type: 'string', pattern: '^a$' },
        list: { type: 'array', items: { type: 'string', pattern: '(a+)+$' } },
      },
      $defs: { tag: { type: 'object', patternProperties: { '^x-': { type: 'string' } }, additionalProperties: false } },
      anyOf: [{ pattern: 'b' }, { const: { pattern: 'kept' } }],
      enum: [{ pattern: 'kept too' }],
    };
    expect(replyCheckSchema(schema)).toEqual({
      type: 'object',
      properties: { pattern: { type: 'string' }, list: { type: 'array', items: { type: 'string' } } },
      $defs: { tag: { type: 'object' } },
      anyOf: [{}, { const: { pattern: 'kept' } }],
      enum: [{ pattern: 'kept too' }],
    });
  });

  it('keeps a property named __proto__ a property', () => {
    const schema = JSON.parse(
      '{"type":"object","properties":{"__proto__":{"type":"string","pattern":"x"}}}',
    ) as unknown;
    const out = replyCheckSchema(schema) as { properties: object };
    expect(Object.getPrototypeOf(out.properties)).toBe(Object.prototype);
    expect(Object.keys(out.properties)).toEqual(['__proto__']);
  });
});

describe('withResponseSchema', () => {
  const schema = { name: 'move', schema: { type: 'object', properties: { speed: { type: 'number' } } } };

  it("asks in each server's form: json_schema, vLLM's structured_outputs, json_object with the schema beside it", () => {
    expect(withResponseSchema({ model: 'm' }, schema, 'response_format')).toEqual({
      model: 'm',
      response_format: { type: 'json_schema', json_schema: { name: 'move', schema: schema.schema, strict: true } },
    });
    expect(withResponseSchema({ model: 'm' }, schema, 'vllm')).toEqual({
      model: 'm',
      structured_outputs: { json: schema.schema },
    });
    // llama-cpp-python's server: json_schema is HTTP 500 there (test/agent-real/structured-output.test.ts)
    expect(withResponseSchema({ model: 'm' }, schema, 'json_object')).toEqual({
      model: 'm',
      response_format: { type: 'json_object', schema: schema.schema },
    });
  });
});
