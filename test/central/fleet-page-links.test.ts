import { afterAll, describe, expect, it } from 'vitest';
import { checkCentralServeText } from '../../central/config.ts';
import { startCentralServe } from '../../central/serve.ts';
import { silentLogger } from '../../daemon/log.ts';
import { sharedChromium } from '../api/chromium.ts';
import { publishQos1, robotClient, serveSettings } from '../central-serve/fixtures.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { tempDir } from '../helpers/cli.ts';
import { startBroker, type Broker } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/wait.ts';

const cleanups = cleanupStack();
const chromium = sharedChromium();
afterAll(() => chromium.close());

/** What each robot says its status page is: its own API, someone else's site, and a script. */
const STATUS_URLS: Record<string, string> = {
  r1: 'http://127.0.0.1:7400/',
  r2: 'http://evil.example/',
  r3: 'javascript:alert(document.domain)',
  r4: 'http://127.0.0.1:7400.evil.example/',
};

async function serveWith(broker: Broker, name: string, allowed: string[]) {
  const dir = tempDir(`fleet-page-links-${name}-`);
  cleanups.push(dir.cleanup);
  const settings = serveSettings({ broker, dir: dir.path });
  const serve = await startCentralServe(
    { ...settings, http: { ...settings.http, enabled: true, port: 0, allowed_status_urls: allowed } },
    { log: silentLogger(), clientId: `central-${name}` },
  );
  cleanups.push(() => serve.close());
  return serve;
}

describe("the fleet page shows a robot's status_url as a link only when central's config allows it", () => {
  it('links only what http.allowed_status_urls matches whole, and shows the rest (and all, by default) as text', async () => {
    const broker = await startBroker();
    cleanups.push(broker.cleanup);
    const allowing = await serveWith(broker, 'allowing', ['http://127\\.0\\.0\\.1:[0-9]+/']);
    const plain = await serveWith(broker, 'default', []);
    const robot = await robotClient(broker, 'robots');
    cleanups.push(() => robot.endAsync());
    for (const [id, url] of Object.entries(STATUS_URLS)) {
      const status = { schema: 'auraison.status/1', robot: id, fleet: 'lab', state: 'online', status_url: url };
      await publishQos1(robot, `auraison/lab/${id}/status`, JSON.stringify(status), true);
    }
    for (const serve of [allowing, plain])
      await waitFor(() => serve.view.robots().length === 4, 'the four robots at central');

    const context = await chromium.context();
    cleanups.push(() => context.close());
    const page = await context.newPage();
    const cell = (robot: string) => page.locator(`#robots tr[data-robot="${robot}"] td`).last();
    for (const [serve, linked] of [
      [allowing, ['r1']],
      [plain, []],
    ] as const) {
      await page.goto(`${serve.httpUrl}/?refresh=0.3`);
      await expect.poll(() => page.locator('#robots tr[data-robot]').count()).toBe(4);
      for (const [id, url] of Object.entries(STATUS_URLS)) {
        // The URL is always there to read; only an allowed one is an anchor.
        expect(await cell(id).textContent()).toBe(url);
        const anchors = cell(id).locator('a');
        if ((linked as readonly string[]).includes(id)) expect(await anchors.getAttribute('href')).toBe(url);
        else expect(await anchors.count()).toBe(0);
      }
      expect(await page.locator('#robots a').count()).toBe(linked.length);
    }
  });

  it('names a pattern that is not a regular expression by its key path', () => {
    const { issues } = checkCentralServeText(
      'mqtt:\n  url: mqtt://127.0.0.1:1883\nhttp:\n  allowed_status_urls: ["http://ok/", "http://(bad/"]\n',
      {},
    );
    expect(issues).toEqual([
      expect.objectContaining({
        path: 'http.allowed_status_urls.1',
        message: expect.stringMatching(/^not a regular expression: /),
      }),
    ]);
  });
});
