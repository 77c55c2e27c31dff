import { validate, version } from 'uuid';
import { describe, expect, it } from 'vitest';
import { newId, uuidv7Time } from './ids.ts';

describe('newId', () => {
  it('makes valid UUIDv7s (checked by the uuid package) carrying the current time', () => {
    const before = Date.now();
    const id = newId();
    expect(validate(id)).toBe(true);
    expect(version(id)).toBe(7);
    expect(id[19]).toMatch(/[89ab]/); // RFC 9562 variant
    expect(uuidv7Time(id)).toBeGreaterThanOrEqual(before);
    expect(uuidv7Time(id)).toBeLessThanOrEqual(Date.now());
  });

  it('sorts in creation order, even many in one millisecond, and never repeats', () => {
    const ids = Array.from({ length: 50_000 }, () => newId());
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
