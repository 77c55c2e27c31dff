// isolated: fakes the wall clock (vitest.config.ts)
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

  it('counts ids within a millisecond in the 12 bits after the version, and keeps the RFC variant bits', () => {
    const ids = Array.from({ length: 3000 }, () => newId());
    for (let i = 1; i < ids.length; i++) {
      const [a, b] = [ids[i - 1]!, ids[i]!];
      expect(b[14]).toBe('7');
      expect(b[19]).toMatch(/[89ab]/);
      // The same ms: the counter (hex digits 15..17) goes up by one; a later ms: it starts again.
      if (uuidv7Time(a) === uuidv7Time(b))
        expect(parseInt(b.slice(15, 18), 16)).toBe(parseInt(a.slice(15, 18), 16) + 1);
      else expect(uuidv7Time(b)).toBeGreaterThan(uuidv7Time(a));
    }
  });

  it('borrows the next millisecond when 4096 ids are made in one, and stays in order', () => {
    const realNow = Date.now;
    const frozen = realNow() + 10_000; // later than any id made so far, so the counter starts afresh
    Date.now = () => frozen;
    try {
      const ids = Array.from({ length: 5000 }, () => newId());
      expect([...ids].sort()).toEqual(ids);
      expect(new Set(ids).size).toBe(ids.length);
      expect(uuidv7Time(ids[0]!)).toBe(frozen);
      expect(uuidv7Time(ids.at(-1)!)).toBe(frozen + 1);
      for (const id of ids) expect(validate(id) && version(id) === 7).toBe(true);
    } finally {
      Date.now = realNow;
    }
  });

  it('keeps order when the clock steps back', () => {
    const realNow = Date.now;
    const first = newId();
    Date.now = () => realNow() - 60_000;
    try {
      const later = newId();
      expect(later > first).toBe(true);
      expect(uuidv7Time(later)).toBeGreaterThanOrEqual(uuidv7Time(first));
    } finally {
      Date.now = realNow;
    }
  });
});
