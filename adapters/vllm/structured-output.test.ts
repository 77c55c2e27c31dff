import { describe, expect, it } from 'vitest';
import { replyCheckSchema } from './structured-output.ts';

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
