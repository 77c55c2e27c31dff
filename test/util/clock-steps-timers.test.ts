// isolated: fakes the wall clock (vitest.config.ts)
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Bus } from '../../daemon/bus/bus.ts';
import { defaultConfig } from '../../daemon/config/load.ts';
import type { Component, ComponentContext } from '../../daemon/lifecycle/component.ts';
import { Supervisor } from '../../daemon/lifecycle/supervisor.ts';
import { waitFor } from '../helpers/wait.ts';

// Durations measured inside one process run on the monotonic clock: a wall clock step (NTP, years at the
// first sync on a robot without an RTC) must neither stretch nor cut them. These step Date.now only.

const realNow = Date.now.bind(Date);
afterEach(() => vi.restoreAllMocks());

describe('durations across a wall clock step', () => {
  it('a topic rate stays a rate per elapsed second when the wall clock steps back an hour', async () => {
    const bus = new Bus({ rateWindowMs: 200 });
    try {
      const pub = bus.advertise('/rate', 'std_msgs/msg/Empty', { source: 'test' });
      const data = new Uint8Array([0, 1, 0, 0]);
      // 20 messages every 50 ms: about 400 a second. The window the step falls in, divided by a negative
      // (floored) span of wall time, would read tens of thousands.
      const rates: number[] = [];
      const timer = setInterval(() => {
        for (let i = 0; i < 20; i++) pub.publish(data);
        rates.push(bus.stats().find((t) => t.topic === '/rate')?.rateHz ?? 0);
      }, 50);
      try {
        vi.spyOn(Date, 'now').mockImplementation(() => realNow() - 3_600_000);
        await waitFor(() => rates.filter((r) => r > 0).length >= 6, 'a few windows of rates', 10_000);
      } finally {
        clearInterval(timer);
      }
      expect(Math.max(...rates)).toBeLessThan(10_000);
    } finally {
      bus.close();
    }
  });

  it('a stop budget is not stretched by a wall clock stepping back while a component hangs in stop()', async () => {
    const never = (): Promise<void> => new Promise<void>(() => undefined);
    const component = (name: string, stop: () => Promise<void>): Component => ({
      name,
      start: async () => undefined,
      close: stop,
      health: () => ({ state: 'running' }),
    });
    const supervisor = new Supervisor({
      specs: [
        { name: 'hung', enabled: () => true, settings: () => null, create: () => component('hung', never) },
        {
          name: 'stepper',
          enabled: () => true,
          settings: () => null,
          create: () =>
            component('stepper', () => {
              vi.spyOn(Date, 'now').mockImplementation(() => realNow() - 3_600_000);
              return never();
            }),
        },
      ],
      log: pino({ level: 'silent' }),
      startTimeoutMs: 600_000,
      retryBaseMs: 600_000,
      context: () => ({}) as Omit<ComponentContext, 'components'>,
    });
    await supervisor.start(defaultConfig());
    // Stops run in reverse: `stepper` steps the clock back and hangs; `hung` must still get only what is left
    // of 300 ms (or its 100 ms floor), not that plus the hour the clock went back.
    expect((await supervisor.close(300)).sort()).toEqual(['hung', 'stepper']);
  });
});
