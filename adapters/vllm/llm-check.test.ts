import { describe, expect, it } from 'vitest';
import { describeFailure } from './llm-check.ts';

describe('describeFailure', () => {
  it('names the network reason found in the innermost cause', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8000'), {
      code: 'ECONNREFUSED',
      address: '127.0.0.1',
      port: 8000,
    });
    const text = describeFailure(
      new Error('Connection error.', { cause: new TypeError('fetch failed', { cause: refused }) }),
    );
    expect(text).toContain('(ECONNREFUSED 127.0.0.1:8000)');
  });

  it('ends on a cause chain that loops back on itself', () => {
    // An error that is its own cause; the getter turns an endless walk into a failure instead of a hang.
    let reads = 0;
    const looped = new Error('first');
    Object.defineProperty(looped, 'cause', {
      get: () => {
        if (++reads > 1000) throw new Error('describeFailure walked the cause chain 1000 times');
        return looped;
      },
    });
    expect(describeFailure(looped)).toBe('first');
  });
});
