import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetHttp, fleetHttpUrl } from '../../central/http.ts';
import { FleetDouble } from '../central-ops/fleet-double.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

// The fleet page in headless Chromium with central serve's API token: opened once with the token it works
// from its cookie; without it the page says what to do; a DNS-rebound name gets nothing.
const cleanups = cleanupStack(afterAll);
const TOKEN = 'page-token-abcdef0123456789';
let browser: Browser;
let url: string;

beforeAll(async () => {
  // rebind.test resolves to 127.0.0.1, as a rebinding attacker's name does after its first answer.
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--host-resolver-rules=MAP rebind.test 127.0.0.1'],
  });
  cleanups.push(() => browser.close());
  const view = new FleetDouble();
  view.robotList = [{ fleet: 'lab', robot: 'tb1', online: true, state: 'online' }];
  const app = await fleetHttp(view, { host: '127.0.0.1', port: 0, token: TOKEN });
  cleanups.push(() => app.close());
  url = fleetHttpUrl(app);
});

describe('the fleet page with an API token, in headless Chromium', () => {
  it('works once opened at /?token=, and the address no longer shows the token', async () => {
    const context = await browser.newContext();
    cleanups.push(() => context.close());
    const page = await context.newPage();
    await page.goto(`${url}/?token=${TOKEN}`);
    expect(page.url()).toBe(`${url}/`);
    await expect.poll(() => page.locator('#robots tr[data-robot="tb1"] td.state').textContent()).toBe('online');
    expect(await page.locator('#error').isHidden()).toBe(true);
  });

  it('says, opened without the token, how to give it', async () => {
    const context = await browser.newContext();
    cleanups.push(() => context.close());
    const page = await context.newPage();
    await page.goto(`${url}/`);
    await expect.poll(() => page.locator('#error').textContent()).toMatch(/opens the page once at \/\?token=/);
  });

  it('gives a page on a rebound name nothing, not even the page', async () => {
    const context = await browser.newContext();
    cleanups.push(() => context.close());
    const page = await context.newPage();
    const { port } = new URL(url);
    const response = await page.goto(`http://rebind.test:${port}/`);
    expect(response?.status()).toBe(421);
    expect(await page.content()).toContain('host_refused');
  });
});
