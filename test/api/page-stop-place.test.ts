import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupStack } from '../helpers/cleanups.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { sharedChromium } from './chromium.ts';
import { PORTS } from '../../daemon/contract/index.ts';

// An e-stop must not move: the operator presses STOP, the page answers (a line, the latch's banner, the badge), and
// the second press, at the same spot, must land on STOP again; Release, once there, stays put too. While the stop
// holds, the health badge says STOPPED rather than a green "health ok".

const cleanups = cleanupStack();
const chromium = sharedChromium();
afterAll(() => chromium.close());

type Box = { x: number; y: number; width: number; height: number };

async function box(page: Page, selector: string): Promise<Box> {
  const found = await page.locator(selector).boundingBox();
  if (!found) throw new Error(`${selector} is not shown`);
  return found;
}

/** Clicks the middle of where `at` was, as an operator's hand does, whatever is there now. */
async function pressAt(page: Page, at: Box): Promise<void> {
  await page.mouse.click(at.x + at.width / 2, at.y + at.height / 2);
}

describe('the STOP button of the status page', () => {
  for (const width of [1280, 860]) {
    it(`stays where it was while the stop is answered, latched and released, ${width} px wide, and health says STOPPED meanwhile`, async () => {
      const started = await startDaemon(
        { sim: { enabled: true, speed: 1 }, api: { port: 0 }, foxglove: { enabled: false } },
        'page-stop-place-',
      );
      cleanups.push(started.stop);
      const url = started.daemon.ports.get(PORTS.api)!.url!;
      const browser = await chromium.context({ viewport: { width, height: 900 } });
      cleanups.push(() => browser.close());
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('dialog', (dialog) => void dialog.accept());
      const stops: string[] = [];
      page.on('request', (r) => r.method() === 'POST' && stops.push(new URL(r.url()).pathname));
      await page.goto(url);
      await page.locator('#health', { hasText: 'health ok' }).waitFor();
      await page.locator('#uptime', { hasText: 'journal seq' }).waitFor();
      const stop = await box(page, '#stop');

      await pressAt(page, stop);
      await page.locator('#stop-result[data-state="stopped"]').waitFor();
      await page.locator('#stop-latch').waitFor();
      expect(await box(page, '#stop')).toEqual(stop);
      const health = page.locator('#health');
      expect(await health.textContent()).toBe('STOPPED');
      expect(await health.getAttribute('class')).toBe('badge stopped');
      expect(await health.getAttribute('title')).toBe(
        'the robot is stopped until a person releases the stop; daemon health ok',
      );

      // The second press, where the first was, is a second stop; the page's answers since moved nothing.
      await pressAt(page, stop);
      await expect.poll(() => stops.filter((p) => p === '/stop').length).toBe(2);
      await page.locator('#stop-result[data-state="stopped"]').waitFor();
      expect(await box(page, '#stop')).toEqual(stop);
      // a /status tick later, the banner and the badge as the daemon tells them: nothing moved
      await page.waitForResponse((r) => new URL(r.url()).pathname === '/status');
      expect(await box(page, '#stop')).toEqual(stop);
      expect(await health.textContent()).toBe('STOPPED');

      // Release sits at the right end of the banner's row, under STOP, whatever the banner says.
      const release = await box(page, '#release');
      expect(release.y).toBeGreaterThan(stop.y + stop.height);
      expect(release.x + release.width).toBeGreaterThan(stop.x + stop.width - 20);
      await pressAt(page, release);
      await page.locator('#release-result[data-state="released"]').waitFor();
      expect(await page.locator('#stop-latch').isVisible()).toBe(false);
      expect(await box(page, '#stop')).toEqual(stop);
      await page.locator('#health', { hasText: 'health ok' }).waitFor();
      expect(await health.getAttribute('class')).toBe('badge ok');
      expect(errors).toEqual([]);
    });
  }
});
