import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { rateLimitedErrors } from './log.ts';

describe('rateLimitedErrors', () => {
  it('logs the first few occurrences per key, then one in N with the count', () => {
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'error' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const report = rateLimitedErrors(log, { first: 3, every: 10 });
    for (let i = 0; i < 33; i++) report('navigator /odom', { topic: '/odom' }, 'decode failed');
    report('recorder /scan', { topic: '/scan' }, 'decode failed');
    expect(lines.filter((l) => l.topic === '/odom').map((l) => l.occurrences ?? null)).toEqual([null, null, null, 13, 23, 33]);
    expect(lines.filter((l) => l.topic === '/scan')).toHaveLength(1);
  });
});
