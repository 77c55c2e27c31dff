import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { sharedChromium } from '../api/chromium.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { addSyncFiles, syncDaemon, syncPeers } from './sync-harness.ts';

const chromium = sharedChromium();
afterAll(() => chromium.close());

describe('the status page with bulk sync', () => {
  const cleanups = cleanupStack();

  it('shows what awaits upload, and pauses and resumes uploads from its button', async () => {
    const { broker } = await syncPeers(cleanups);
    const { dataDir } = await syncDaemon(cleanups, broker.url, { config: { api: { enabled: true, port: 0 } } });
    const api = JSON.parse(readFileSync(join(dataDir, 'run', 'api.json'), 'utf8')) as { url: string };
    const browser = await chromium.context({ viewport: { width: 1280, height: 1100 } });
    cleanups.push(() => browser.close());
    const page = await browser.newPage();
    await page.goto(api.url);
    await page.locator('#sync-state', { hasText: 'running, online' }).waitFor();
    await page.locator('#sync-toggle', { hasText: 'Pause uploads' }).click();
    await page.locator('#sync-state', { hasText: 'paused (local: paused from the status page)' }).waitFor();
    await addSyncFiles(dataDir, [128 * 1024]);
    await page.locator('#sync-state', { hasText: 'awaiting: 1 file(s)' }).waitFor();
    await page.locator('#sync-toggle', { hasText: 'Resume uploads' }).click();
    await page.locator('#sync-state', { hasText: 'stored 1' }).waitFor();
    await page.locator('#sync-state', { hasText: 'awaiting: 0 file(s)' }).waitFor();
  });
});
