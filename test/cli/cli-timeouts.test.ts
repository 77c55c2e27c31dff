import { describe, expect, it } from 'vitest';
import { runMain } from '../helpers/cli.ts';

// A timeout option is a Node timer, which fires after 1 ms for a delay past 2^31-1 ms (24.8 days): a timeout
// meant as "wait for ever" would end the command at once. Such a value is bad usage (exit 2), said so.

describe('timeout options past what a timer can wait', () => {
  it('are refused with exit 2, naming the option and its limit', async () => {
    for (const [args, limit] of [
      [['llm', 'check', '--base-url', 'http://127.0.0.1:9/v1', '--timeout-ms', '3000000000'], '2147483647'],
      [['topic', 'echo', '/chatter', '--timeout', '3000000'], '2147483.647'],
      [['intent', 'stop', '--wait', '--timeout-s', '3000000'], '2147483.647'],
    ] as const) {
      const r = await runMain([...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(`<= ${limit}`);
    }
  });
});
