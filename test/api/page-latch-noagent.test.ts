import { afterAll, describe, expect, it } from 'vitest';
import { startDaemon } from '../helpers/daemon.ts';
import { sharedChromium } from './chromium.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { PORTS } from '../../daemon/contract/index.ts';

// A robot that runs no agent (agent.enabled false: System 1 loops only) is stopped by a process on the bus
// (agent/stop, a ROS node's e-stop button): the status page shows the latch all the same, from the stop
// component's status, and releases it.

const cleanups = cleanupStack();
const chromium = sharedChromium();
afterAll(() => chromium.close());

describe('the status page with no agent running', () => {
  it('shows the latch a bus stop engaged, and releases it after a confirm', async () => {
    const started = await startDaemon(
      {
        sim: { enabled: false },
        agent: { enabled: false },
        api: { port: 0 },
        foxglove: { enabled: false },
        lakehouse: { enabled: false },
      },
      'page-latch-noagent-',
    );
    cleanups.push(started.stop);
    const { daemon } = started;
    const url = daemon.ports.get(PORTS.api)!.url!;
    const browser = await chromium.context({ viewport: { width: 1280, height: 900 } });
    cleanups.push(() => browser.close());
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('dialog', (dialog) => void dialog.accept());
    await page.goto(url);
    await page.locator('#health', { hasText: 'health ok' }).waitFor();
    expect(await page.locator('#stop-latch').isVisible()).toBe(false);

    await daemon.bus.query('agent/stop', {
      encoding: 'application/json',
      payload: new TextEncoder().encode('{"by": "estop_node", "reason": "button pressed"}'),
    });
    // The page polls /status: the banner comes from there, as no reply of its own told it.
    await page.locator('#stop-latch').waitFor();
    expect(await page.locator('#stop-latch-text').textContent()).toMatch(
      /^STOPPED \(latched\) by estop_node at .+: button pressed$/,
    );

    await page.getByRole('button', { name: 'Release stop' }).click();
    await page.locator('#release-result[data-state="released"]').waitFor();
    expect(await page.locator('#stop-latch').isVisible()).toBe(false);
    expect((daemon.status().components.stop!.details as { stop_latch: unknown }).stop_latch).toBeNull();
    expect(errors).toEqual([]);
  });
});
