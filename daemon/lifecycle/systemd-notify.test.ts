import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { SystemdNotifier } from './systemd-notify.ts';

function capture() {
  const lines: { msg: string; level: number }[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string; level: number }) });
  return { log, lines };
}

describe('SystemdNotifier', () => {
  it('with an unreachable NOTIFY_SOCKET, logs the first failures only and reports itself degraded in health', async () => {
    const { log, lines } = capture();
    const notifier = new SystemdNotifier({ env: { NOTIFY_SOCKET: '/run/nothing-here' }, log, send: () => Promise.reject(new Error('spawn systemd-notify ENOENT')) });
    expect(notifier.health().state).toBe('running');
    for (let i = 0; i < 50; i++) await notifier.status(`ping ${i}`);
    expect(lines.filter((l) => l.msg.startsWith('systemd-notify failed'))).toHaveLength(3);
    expect(notifier.health()).toMatchObject({
      state: 'degraded',
      reason: 'systemd-notify failed 50 times in a row (spawn systemd-notify ENOENT): systemd sees no READY or watchdog pings',
      details: { failures: 50 },
    });
  });

  it('is healthy again once a notification gets through, and says so', async () => {
    const { log, lines } = capture();
    let up = false;
    const notifier = new SystemdNotifier({ env: { NOTIFY_SOCKET: '@sd' }, log, send: () => (up ? Promise.resolve() : Promise.reject(new Error('ECONNREFUSED'))) });
    for (let i = 0; i < 5; i++) await notifier.status('x');
    expect(notifier.health().state).toBe('degraded');
    up = true;
    await notifier.ready('running');
    expect(notifier.health()).toMatchObject({ state: 'running', details: { failures: 5, failing_in_a_row: 0 } });
    expect(lines.at(-1)?.msg).toBe('systemd-notify works again');
  });
});
