import { describe, expect, it } from 'vitest';
import { apiDaemon } from './api-daemon.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

// agent.rules.quotas.max_wall_s has no upper bound, and a robot that patrols for weeks under one intent may be
// given a long one. Node's setTimeout fires a delay past 2^31-1 ms (24.8 days) after 1 ms instead (with a
// TimeoutOverflowWarning), so such a quota ended every run at once: quota.wall_time.

const cleanups = cleanupStack();

describe('a wall-time quota longer than setTimeout can count', () => {
  it('lets a run of a 30-day quota act, and still ends one past its quota', { timeout: 30_000 }, async () => {
    const { daemon, submit, until } = await apiDaemon(
      { agent: { rules: { quotas: { max_wall_s: 30 * 86_400 } } } },
      'wall-quota-long-',
      cleanups,
    );
    // A service that takes 300 ms to answer: the run acts that long.
    daemon.bus.serve('/slow_service', async () => {
      // The call takes wall time on purpose: the run acts that long, what the quota counts.
      // eslint-disable-next-line tests/no-fixed-wait -- time is under test (above)
      await new Promise((resolve) => setTimeout(resolve, 300));
      return { encoding: 'application/json', payload: new TextEncoder().encode('{"ok":true}') };
    });
    const call = async (policyCtx: Record<string, unknown> = {}) => {
      const created = await submit({
        type: 'call_service',
        params: { name: '/slow_service', request: {} },
        policy_ctx: policyCtx,
      });
      expect(created.status, created.text).toBe(201);
      return (await until(created.run.run_id)).run;
    };
    expect(await call()).toMatchObject({ status: 'succeeded' });
    // The quota still holds: an intent that lowers it to 0.1 s is ended by it.
    expect(await call({ max_wall_s: 0.1 })).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(/^quota\.wall_time: /),
    });
  });
});
