import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { SystemdNotifier } from './systemd-notify.ts';

function capture() {
  const lines: { msg: string; level: number }[] = [];
  const log = pino(
    { level: 'info' },
    { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string; level: number }) },
  );
  return { log, lines };
}

describe('SystemdNotifier', () => {
  it('with an unreachable NOTIFY_SOCKET, logs the first failures only and reports itself degraded in health', async () => {
    const { log, lines } = capture();
    const notifier = new SystemdNotifier({
      env: { NOTIFY_SOCKET: '/run/nothing-here' },
      log,
      send: () => Promise.reject(new Error('spawn systemd-notify ENOENT')),
    });
    expect(notifier.health().state).toBe('running');
    for (let i = 0; i < 50; i++) await notifier.status(`ping ${i}`);
    expect(lines.filter((l) => l.msg.startsWith('systemd-notify failed'))).toHaveLength(3);
    expect(notifier.health()).toMatchObject({
      state: 'degraded',
      reason:
        'systemd-notify failed 50 times in a row (spawn systemd-notify ENOENT): systemd sees no READY or watchdog pings',
      details: { failures: 50 },
    });
  });

  it('is healthy again once a notification gets through, and says so', async () => {
    const { log, lines } = capture();
    let up = false;
    const notifier = new SystemdNotifier({
      env: { NOTIFY_SOCKET: '@sd' },
      log,
      send: () => (up ? Promise.resolve() : Promise.reject(new Error('ECONNREFUSED'))),
    });
    for (let i = 0; i < 5; i++) await notifier.status('x');
    expect(notifier.health().state).toBe('degraded');
    up = true;
    await notifier.ready('running');
    expect(notifier.health()).toMatchObject({ state: 'running', details: { failures: 5, failing_in_a_row: 0 } });
    expect(lines.at(-1)?.msg).toBe('systemd-notify works again');
  });

  it('sends STOPPING only once the notifications already on their way are sent, so it is the last systemd gets', async () => {
    const { log } = capture();
    const delivered: string[] = [];
    const pings: (() => void)[] = [];
    // Each notification is its own process: a watchdog ping started just before the stop may still be starting.
    const send = (args: string[]): Promise<void> => {
      if (args[0] !== 'WATCHDOG=1') return Promise.resolve(void delivered.push(args[0]!));
      return new Promise<void>((resolve) => pings.push(() => resolve(void delivered.push(args[0]!))));
    };
    const notifier = new SystemdNotifier({ env: { NOTIFY_SOCKET: '@sd', WATCHDOG_USEC: '20000' }, log, send });
    notifier.startWatchdog(() => ({ ok: true }));
    await vi.waitFor(() => expect(pings.length).toBeGreaterThan(0), { timeout: 20_000, interval: 5 });
    const stopping = notifier.stopping();
    await new Promise((resolve) => setImmediate(resolve));
    expect(delivered).toEqual([]); // STOPPING waits for the ping
    const inFlight = pings.length;
    for (const finish of pings) finish();
    await stopping;
    expect(delivered).toEqual([...Array.from({ length: inFlight }, () => 'WATCHDOG=1'), 'STOPPING=1']);
    expect(pings).toHaveLength(inFlight); // and the watchdog stopped with the stop
  });
});

describe('SystemdNotifier.extendStartWhile', () => {
  it('asks systemd for more start time at once and then periodically, until told to stop', async () => {
    vi.useFakeTimers();
    try {
      const sent: string[][] = [];
      const notifier = new SystemdNotifier({
        env: { NOTIFY_SOCKET: '@sd' },
        log: pino({ level: 'silent' }),
        send: (args) => (sent.push(args), Promise.resolve()),
      });
      const stop = notifier.extendStartWhile({ byMs: 30_000, everyMs: 15_000 });
      expect(sent).toEqual([['EXTEND_TIMEOUT_USEC=30000000', '--status=starting']]);
      await vi.advanceTimersByTimeAsync(45_000);
      expect(sent).toHaveLength(4);
      stop();
      await vi.advanceTimersByTimeAsync(60_000);
      expect(sent).toHaveLength(4);
    } finally {
      vi.useRealTimers();
    }
  });

  it('sends nothing outside systemd', () => {
    const sent: string[][] = [];
    const notifier = new SystemdNotifier({
      env: {},
      log: pino({ level: 'silent' }),
      send: (a) => (sent.push(a), Promise.resolve()),
    });
    notifier.extendStartWhile({ byMs: 30_000, everyMs: 15_000 })();
    expect(sent).toEqual([]);
  });
});
