import { afterAll, describe, expect, it } from 'vitest';
import { startDaemon } from '../helpers/daemon.ts';
import { centralConfig } from './central-harness.ts';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('bulk sync without the lakehouse', () => {
  it('is refused at start, saying to enable the lakehouse or turn sync off, and the rest of the daemon runs', async () => {
    const { daemon, stop } = await startDaemon(
      {
        robot: { id: 'tb3-1', fleet: 'lab' },
        api: { enabled: false },
        foxglove: { enabled: false },
        lakehouse: { enabled: false },
        // No broker: the need is checked before the link would connect.
        central: centralConfig('mqtt://127.0.0.1:1', { sync: { enabled: true } }),
      },
      'sync-needs-',
    );
    cleanups.push(stop);
    const central = daemon.status().components.central;
    expect(central?.state).toBe('failed');
    expect(central?.reason).toContain(
      'central (central.sync.enabled) needs the lakehouse, which the lakehouse component provides, and it is not enabled: enable it in the config, or turn central.sync.enabled off',
    );
    expect(daemon.status().components.agent?.state).not.toBe('failed');
  });
});
