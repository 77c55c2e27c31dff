import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { startCentralServe, type CentralServe } from '../../central/serve.ts';
import { silentLogger } from '../../daemon/log.ts';
import { sharedChromium } from '../api/chromium.ts';
import { centralConfig } from '../central/central-harness.ts';
import { serveSettings } from '../central-serve/fixtures.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { tempDir } from '../helpers/cli.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { startBroker } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/wait.ts';
import { DaemonProcess } from '../agent/daemon-process.ts';

const cleanups = cleanupStack();
const chromium = sharedChromium();
afterAll(() => chromium.close());

/** A robot's config: fleet lab, its central link on, its API (and so its status page) on a free port. */
function robotConfig(robot: string, brokerUrl: string): Record<string, unknown> {
  return {
    robot: { id: robot, fleet: 'lab' },
    api: { enabled: true, host: '127.0.0.1', port: 0 },
    foxglove: { enabled: false },
    central: centralConfig(brokerUrl),
  };
}

describe('the fleet page, in headless Chromium', () => {
  it('shows three robots online with links to their status pages, then one offline once its daemon is killed', async () => {
    const broker = await startBroker();
    cleanups.push(() => broker.cleanup());
    const dir = tempDir('fleet-page-');
    cleanups.push(dir.cleanup);
    const settings = serveSettings({ broker, dir: dir.path });
    const serve: CentralServe = await startCentralServe(
      {
        ...settings,
        // The robots' own APIs, on this host: their status pages are links (central/status-links.ts).
        http: {
          ...settings.http,
          enabled: true,
          host: '127.0.0.1',
          port: 0,
          allowed_status_urls: ['http://127\\.0\\.0\\.1:[0-9]+/'],
        },
      },
      { log: silentLogger() },
    );
    cleanups.push(() => serve.close());

    for (const robot of ['tb1', 'tb2']) {
      const started = await startDaemon(robotConfig(robot, broker.url), `fleet-page-${robot}-`);
      cleanups.push(started.stop);
    }
    // The third in its own process, so it can die as a robot does: kill -9, its broker connection dropped.
    const file = join(dir.path, 'tb3.yaml');
    writeFileSync(file, stringify({ data_dir: './tb3-data', ...robotConfig('tb3', broker.url) }));
    const tb3 = new DaemonProcess(dir.path, file);
    cleanups.push(() => tb3.kill());
    await tb3.running();

    const online = () => serve.view.robots().filter((r) => r.online && r.status_url).length;
    await waitFor(() => online() === 3, 'three robots online at central, each with its status page');

    const context: BrowserContext = await chromium.context({ viewport: { width: 1280, height: 900 } });
    cleanups.push(() => context.close());
    const page = await context.newPage();
    await page.goto(`${serve.httpUrl}/?refresh=0.3`);
    const state = (robot: string) => page.locator(`#robots tr[data-robot="${robot}"] td.state`);
    for (const robot of ['tb1', 'tb2', 'tb3']) await expect.poll(() => state(robot).textContent()).toBe('online');
    await expect.poll(() => page.locator('#summary').textContent()).toBe('3 robot(s), 3 online, 0 offline');
    const link = page.locator('#robots tr[data-robot="tb3"] a');
    const statusUrl = serve.view.robots().find((r) => r.robot === 'tb3')!.status_url!;
    expect(await link.getAttribute('href')).toBe(statusUrl);
    // The link leads to tb3's own status page, served by its daemon.
    expect(await (await fetch(statusUrl)).text()).toContain('Auraison Edge');

    await tb3.kill();
    await expect.poll(() => state('tb3').textContent(), { timeout: 20_000 }).toMatch(/^offline/);
    expect(await state('tb1').textContent()).toBe('online');
    await expect.poll(() => page.locator('#summary').textContent()).toBe('3 robot(s), 2 online, 1 offline');
    expect(await page.locator('#error').isHidden()).toBe(true);
  });
});
