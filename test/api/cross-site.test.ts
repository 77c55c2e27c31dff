import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiComponent } from '../../daemon/api/api-component.ts';
import type { HaltLatchState } from '../../daemon/contract/halt.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { startDaemon, running } from '../helpers/daemon.ts';
import { sharedChromium } from './chromium.ts';
import { http } from './http.ts';

// The local API seen from a web page on another origin, in a real Chromium: a page may send a POST no-cors (a
// body-less fetch or a form needs no preflight), so without a guard it released a latched stop. Every
// state-changing route refuses it, counts it, and the daemon's own status page still stops and releases.

const cleanups = cleanupStack(afterAll);
const chromium = sharedChromium();
afterAll(() => chromium.close());

/** Every state-changing route, with a path it can be called at (`:id` a run id). */
const STATE_CHANGING = [
  '/stop',
  '/stop/release',
  '/control/loops/any/start',
  '/sync/pause',
  '/sync/resume',
  '/recorder/pause',
  '/recorder/resume',
  '/recorder/split',
  '/recorder/snapshot',
  '/intents',
  '/runs/0190aaaa-0000-7000-8000-000000000001/approve',
  '/runs/0190aaaa-0000-7000-8000-000000000001/cancel',
  '/query',
  '/inference/vla/any',
  '/inference/llm/any',
  '/actions/goal',
  '/mcp',
];

/**
 * The attacker's page: for each route a no-cors fetch with no body, one with a text/plain JSON body, and a
 * form post (text/plain and urlencoded) into an iframe; the title says `done N` once all were sent.
 */
function attackerPage(api: string): string {
  return `<!doctype html><body><script>
const api = ${JSON.stringify(api)};
const routes = ${JSON.stringify(STATE_CHANGING)};
async function forms() {
  let sent = 0;
  const loads = [];
  for (const route of routes) for (const enctype of ['text/plain', 'application/x-www-form-urlencoded']) {
    const name = 'f' + sent++;
    const frame = Object.assign(document.createElement('iframe'), { name });
    document.body.append(frame);
    loads.push(new Promise((resolve) => frame.addEventListener('load', resolve, { once: true })));
    const form = Object.assign(document.createElement('form'), { method: 'POST', action: api + route, target: name, enctype });
    const field = Object.assign(document.createElement('input'), { type: 'hidden', name: '{"by":"attacker","x":"', value: '"}' });
    form.append(field);
    document.body.append(form);
    form.submit();
  }
  await Promise.all(loads);
  return sent;
}
async function fetches() {
  const sent = [];
  for (const route of routes) {
    sent.push(fetch(api + route, { method: 'POST', mode: 'no-cors' }));
    sent.push(fetch(api + route, { method: 'POST', mode: 'no-cors', body: '{"by":"attacker"}' }));
  }
  await Promise.allSettled(sent);
  return sent.length;
}
(async () => { const n = (await fetches()) + (await forms()); document.title = 'done ' + n; })();
</script></body>`;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

/** The routes fastify's route tree (printRoutes) declares for a method `methods` matches, as full paths. */
function declaredRoutes(tree: string, methods: RegExp): string[] {
  const segments: string[] = [];
  const out: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^(.*?)[├└]── (\S+)(?: \(([^)]*)\))?/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    segments[depth] = m[2]!;
    segments.length = depth + 1;
    if (methods.test(m[3] ?? '')) out.push(segments.join('').replace(/^\/*/, '/'));
  }
  return out;
}

/** A body-less POST with exactly `headers` (as curl sends it: fetch would add its own), its status and text. */
function rawPost(
  base: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; text: string }> {
  return rawRequest(base, 'POST', path, headers);
}

/** A body-less request of `method` with exactly `headers`, its status and text. */
function rawRequest(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, path, method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The daemon's count of refused cross-site requests, by reason. */
async function refusals(url: string): Promise<Record<string, number>> {
  const { text } = await http(url, '/metrics');
  const counts: Record<string, number> = {};
  for (const [, reason, value] of text.matchAll(/^auraison_api_cross_site_refused_total\{reason="(\w+)"\} (\d+)$/gm))
    counts[reason!] = Number(value);
  return counts;
}

/** Loads the attacker's page at `pageOrigin` against the API at `api`; resolves with how many requests it sent. */
async function attack(pageOrigin: string, api: string): Promise<number> {
  const browser = await chromium.context();
  cleanups.push(() => browser.close());
  const page = await browser.newPage();
  await page.goto(`${pageOrigin}/attack?api=${encodeURIComponent(api)}`);
  await page.waitForFunction("document.title.startsWith('done ')", undefined, { timeout: 30_000 });
  return Number((await page.title()).slice('done '.length));
}

describe('a web page on another origin', () => {
  let url = '';
  let routes = '';
  const attacker = createServer((req, res) => {
    const api = new URL(req.url ?? '/', 'http://x').searchParams.get('api') ?? '';
    res.writeHead(200, { 'content-type': 'text/html' }).end(attackerPage(api));
  });
  let attackerPort = 0;

  const latch = async () =>
    ((await http(url, '/status')).json.components as Record<string, { details: { stop_latch: HaltLatchState | null } }>)
      .agent!.details.stop_latch;

  beforeAll(async () => {
    const started = await startDaemon(
      {
        sim: { enabled: true, speed: 1 },
        api: { port: 0 },
        foxglove: { enabled: false },
        recorder: { enabled: true, min_free_bytes: 0 },
      },
      'cross-site-',
    );
    cleanups.push(started.stop);
    const api = running(started.daemon, ApiComponent)!;
    url = api.url!;
    routes = api.server!.app.printRoutes({ commonPrefix: false });
    attackerPort = await listen(attacker);
  });

  it('attacks every state-changing route the API has', () => {
    const posts = declaredRoutes(routes, /POST|PUT|PATCH|DELETE/);
    expect(posts).toContain('/stop/release'); // the tree was read
    for (const route of posts) {
      const pattern = new RegExp(`^${route.replace(/:\w+/g, '[^/]+').replace(/\*/g, '.*')}$`);
      expect(
        STATE_CHANGING.some((path) => pattern.test(path)),
        `${route} is attacked`,
      ).toBe(true);
    }
  });

  it.each([
    ['same-site (another port of 127.0.0.1)', 'sec_fetch_site', () => `http://127.0.0.1:${attackerPort}`],
    ['cross-site (localhost)', 'sec_fetch_site', () => `http://localhost:${attackerPort}`],
  ])(
    'from a page %s releases no latched stop and changes nothing; each try is counted',
    async (_name, reason, origin) => {
      const stopped = await http(url, '/stop', { body: { by: 'operator' } });
      expect(stopped.status, stopped.text).toBe(200);
      const held = await latch();
      expect(held).toMatchObject({ by: 'operator' });
      const runsBefore = (await http(url, '/runs')).json;
      const before = await refusals(url);

      const sent = await attack(origin(), url);

      expect(await latch()).toEqual(held);
      expect((await http(url, '/runs')).json).toEqual(runsBefore);
      const after = await refusals(url);
      expect((after[reason] ?? 0) - (before[reason] ?? 0)).toBe(sent);
      // The recorder was not paused: a pause now is the first.
      const paused = await http(url, '/recorder/pause', { body: {} });
      expect(paused.status, paused.text).toBe(200);
      expect(paused.json).toMatchObject({ changed: true });
      expect((await http(url, '/recorder/resume', { body: {} })).json).toMatchObject({ changed: true });
      // The latch the page tried to release is still the operator's to release.
      expect((await http(url, '/stop/release', { body: { by: 'operator' } })).json).toMatchObject({ released: true });
    },
  );

  it('refuses an Origin that is not its own and a body not declared JSON, and takes curl and loopback forms of its own', async () => {
    const port = new URL(url).port;
    const post = (headers: Record<string, string>) => rawPost(url, '/stop', headers);
    const before = await refusals(url);
    for (const origin of [
      'http://evil.example',
      `http://127.0.0.1:${attackerPort}`,
      'null',
      `https://127.0.0.1:${port}`,
    ]) {
      const refused = await post({ origin, 'content-type': 'application/json' });
      expect(refused.status, origin).toBe(403);
      expect(JSON.parse(refused.text)).toMatchObject({ error: 'cross_site', message: expect.stringContaining(origin) });
    }
    for (const type of [
      undefined,
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      const refused = await post(type === undefined ? {} : { 'content-type': type });
      expect(refused.status, type).toBe(415);
      expect(JSON.parse(refused.text)).toMatchObject({
        error: 'unsupported_media_type',
        message: expect.stringMatching(
          /^POST \/stop needs the header Content-Type: application\/json, also with no body/,
        ),
      });
    }
    // A DELETE with no body needs no content type (a page cannot send one without a preflight): an MCP client
    // ends its session so, and gets the route's own answer, not 415.
    const ended = await rawRequest(url, 'DELETE', '/mcp', {});
    expect(ended.status).not.toBe(415);
    const after = await refusals(url);
    expect((after.origin ?? 0) - (before.origin ?? 0)).toBe(4);
    expect((after.content_type ?? 0) - (before.content_type ?? 0)).toBe(4);
    expect(await latch()).toBeNull();

    // As docs/api.md shows it: curl -X POST -H 'content-type: application/json' .../stop, no body.
    for (const origin of [undefined, `http://localhost:${port}`, `http://127.0.0.1:${port}`, `http://[::1]:${port}`]) {
      const stopped = await post({ 'content-type': 'application/json', ...(origin ? { origin } : {}) });
      expect(stopped.status, `${origin}: ${stopped.text}`).toBe(200);
      const released = await http(url, '/stop/release', { body: {} });
      expect(released.json, origin).toMatchObject({ released: true });
    }
  });

  it('refuses a Host that is not loopback on a loopback API (DNS rebinding)', async () => {
    const { port } = new URL(url);
    const rebound = await rawPost(url, '/stop/release', {
      host: `rebound.example:${port}`,
      'content-type': 'application/json',
    });
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.text).message).toMatch(/is not a loopback name/);
  });

  it("still stops and releases from the daemon's own status page", async () => {
    const browser = await chromium.context();
    cleanups.push(() => browser.close());
    const page: Page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('dialog', (dialog) => void dialog.accept());
    const before = await refusals(url);
    await page.goto(url);
    await page.locator('#health', { hasText: 'health ok' }).waitFor();
    await page.getByRole('button', { name: 'STOP robot' }).click();
    await page.locator('#stop-result[data-state="stopped"]').waitFor();
    expect(await latch()).toMatchObject({ by: 'status-page' });
    await page.getByRole('button', { name: 'Release stop' }).click();
    await page.locator('#release-result[data-state="released"]').waitFor();
    expect(await latch()).toBeNull();
    expect(await refusals(url)).toEqual(before);
    expect(errors).toEqual([]);
  });
});
