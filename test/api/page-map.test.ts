import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupStack } from '../helpers/cleanups.ts';
import { ROOT } from '../helpers/cli.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { sharedChromium } from './chromium.ts';
import { http } from './http.ts';
import { PORTS } from '../../daemon/contract/index.ts';

// The status page's map while the sim drives to a goal: the goal, the laser scan's hits and the robot drawn on the
// map, and the pose, speed and goal in words under it.

/** Where the screenshot goes (test/.tmp is git-ignored). */
const SHOTS = join(ROOT, 'test', '.tmp');
const cleanups = cleanupStack();
const chromium = sharedChromium();
afterAll(() => chromium.close());

/** Pixels of the map's canvas near a colour (the scan's orange, the goal's green), counted in the page. */
const COUNT_COLOURS = `(() => {
  const canvas = document.getElementById('map');
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  const near = (i, [r, g, b]) => Math.abs(data[i] - r) < 24 && Math.abs(data[i + 1] - g) < 24 && Math.abs(data[i + 2] - b) < 24;
  let scan = 0;
  let goal = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (near(i, [0xfb, 0x8f, 0x44])) scan++;
    if (near(i, [0x1a, 0x7f, 0x37])) goal++;
  }
  return { scan, goal };
})()`;

describe('the map of the status page', () => {
  it('draws the goal while the robot drives to it, and the scan, with the pose, speed and goal in words', async () => {
    const started = await startDaemon(
      { sim: { enabled: true, speed: 10 }, api: { port: 0 }, foxglove: { enabled: false } },
      'page-map-',
    );
    cleanups.push(started.stop);
    const url = started.daemon.ports.get(PORTS.api)!.url!;
    const browser = await chromium.context({ viewport: { width: 1280, height: 1100 } });
    cleanups.push(() => browser.close());
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);

    await page.locator('#map-info', { hasText: 'cells' }).waitFor();
    const readout = (id: string) => page.locator(`#${id}`);
    await readout('scan-readout')
      .filter({ hasText: /^\d+ hits in range$/ })
      .waitFor();
    await readout('pose-readout')
      .filter({ hasText: /^x -?\d+\.\d\d m, y -?\d+\.\d\d m, yaw -?\d+\.\d°$/ })
      .waitFor();
    expect(await readout('speed-readout').textContent()).toMatch(/^-?\d+\.\d\d m\/s, -?\d+\.\d\d rad\/s$/);
    expect(await readout('goal-readout').textContent()).toBe('none');
    const idle = (await page.evaluate(COUNT_COLOURS)) as { scan: number; goal: number };
    expect(idle.scan).toBeGreaterThan(20);
    expect(idle.goal).toBe(0);

    const created = await http(url, '/intents', { body: { type: 'navigate_to', params: { x: 6.55, y: 1.55 } } });
    expect(created.status, created.text).toBe(201);
    const runId = (created.json.run as { run_id: string }).run_id;
    await readout('goal-readout')
      .filter({ hasText: /^x 6\.55 m, y 1\.55 m, \d+\.\d\d m away$/ })
      .waitFor();
    // moving: a forward speed other than 0.00
    await readout('speed-readout')
      .filter({ hasText: /^0\.(0[1-9]|[1-9]\d) m\/s, / })
      .waitFor();
    const driving = (await page.evaluate(COUNT_COLOURS)) as { scan: number; goal: number };
    expect(driving.goal).toBeGreaterThan(20);
    mkdirSync(SHOTS, { recursive: true });
    await page.locator('#map-section').screenshot({ path: join(SHOTS, 'status-page-map.png') });

    // Reached: the navigator's plan ends, and with it the goal on the map.
    await page
      .locator(`#runs tr[data-run="${runId}"] td.status`, { hasText: 'succeeded' })
      .waitFor({ timeout: 60_000 });
    await readout('goal-readout')
      .filter({ hasText: /^none$/ })
      .waitFor();
    await expect.poll(async () => ((await page.evaluate(COUNT_COLOURS)) as { goal: number }).goal).toBe(0);
    expect(errors).toEqual([]);
  });
});
