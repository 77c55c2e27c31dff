import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fleetHttp, fleetHttpUrl } from '../../central/http.ts';
import { FleetDouble } from '../central-ops/fleet-double.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { runCli, tempDir } from '../helpers/cli.ts';

// Who may reach `central serve`'s fleet API: a caller with its token, by a name the server answers to.
const cleanups = cleanupStack(afterAll);
const TOKEN = 'fleet-api-token-0123456789';

async function serve(
  view: FleetDouble,
  http: { host?: string; token?: string; allowed_hosts?: string[] } = {},
): Promise<string> {
  const app = await fleetHttp(view, { host: '127.0.0.1', port: 0, ...http });
  cleanups.push(() => app.close());
  return fleetHttpUrl(app);
}

/** GET `path` with the Host header a browser on another name would send (fetch may not set Host). */
function getWithHost(url: string, path: string, host: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the fleet API token', () => {
  it('refuses to listen beyond loopback without a token, and says how to set one', async () => {
    await expect(fleetHttp(new FleetDouble(), { host: '0.0.0.0', port: 0 })).rejects.toThrow(
      /http\.host is 0\.0\.0\.0, beyond loopback, and http\.token is empty.*Set http\.token/,
    );
    const url = await serve(new FleetDouble(), { host: '0.0.0.0', token: TOKEN });
    expect((await fetch(`${url}/api/robots`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
  });

  it('answers /api/ only with the token, as a Bearer or as the cookie the page gets at /?token=', async () => {
    const view = new FleetDouble();
    const url = await serve(view, { token: TOKEN });
    const none = await fetch(`${url}/api/robots`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await none.json()).toMatchObject({ error: 'unauthorized', message: expect.stringMatching(/no token/) });
    const wrong = await fetch(`${url}/api/robots`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    const query = await fetch(`${url}/api/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}x` },
      body: JSON.stringify({ sql: 'SELECT 1' }),
    });
    expect(query.status).toBe(401);
    expect(view.queries).toEqual([]);
    expect((await fetch(`${url}/api/robots`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);

    // The page itself holds no data; opened with the token it keeps it in a cookie no other site sends.
    expect((await fetch(`${url}/`)).status).toBe(200);
    expect((await fetch(`${url}/?token=nope`, { redirect: 'manual' })).status).toBe(401);
    const opened = await fetch(`${url}/?token=${TOKEN}`, { redirect: 'manual' });
    expect(opened.status).toBe(303);
    expect(opened.headers.get('location')).toBe('/');
    const cookie = opened.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const withCookie = await fetch(`${url}/api/robots`, { headers: { cookie: cookie.split(';')[0]! } });
    expect(withCookie.status).toBe(200);
  });

  it('is sent by central query from $AURAISON_CENTRAL_TOKEN, and a missing one is named', async () => {
    const view = new FleetDouble();
    view.answer = () => ({ columns: ['n'], rows: [[1]] });
    const url = await serve(view, { token: TOKEN });
    const refused = await runCli(['central', 'query', 'SELECT 1 AS n', '--url', url]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/no token: the fleet API asks http\.token/);
    const answered = await runCli(['central', 'query', 'SELECT 1 AS n', '--url', url, '--json'], {
      env: { AURAISON_CENTRAL_TOKEN: TOKEN },
    });
    expect(answered.code, answered.stderr).toBe(0);
    expect(answered.stdout).toContain('"n"');
  });

  it('is answered by central query with a note on stderr when central cut the answer', async () => {
    const view = new FleetDouble();
    const cut = { columns: ['n'], rows: [[1], [2]], truncated: true, truncated_by: 'max_rows' };
    view.answer = () => cut;
    const url = await serve(view);
    const { code, stdout, stderr } = await runCli([
      'central',
      'query',
      'SELECT range AS n FROM range(9)',
      '--url',
      url,
    ]);
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('(2 rows)');
    expect(stderr).toMatch(/stops after 2 rows, at central serve's fleet_query\.max_rows, and holds more/);
  });

  it('central serve refuses, before it starts, a token file empty or missing, or no token beyond loopback', async () => {
    const dir = tempDir('fleet-api-guard-');
    cleanups.push(dir.cleanup);
    const config = join(dir.path, 'central.yaml');
    writeFileSync(config, 'mqtt:\n  url: mqtt://127.0.0.1:1\n');
    const empty = join(dir.path, 'token');
    writeFileSync(empty, '\n');
    const missing = await runCli(['central', 'serve', '--config', config, '--token-file', join(dir.path, 'nope')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--token-file: cannot read .*nope \(ENOENT\)/);
    const blank = await runCli(['central', 'serve', '--config', config, '--token-file', empty]);
    expect(blank.code).toBe(2);
    expect(blank.stderr).toMatch(/is empty: write the API token on its first line/);

    // Beyond loopback without a token it says so before it opens the lake or dials the broker (neither is there).
    writeFileSync(config, 'mqtt:\n  url: mqtt://127.0.0.1:1\nhttp:\n  host: 0.0.0.0\n');
    const open = await runCli(['central', 'serve', '--config', config]);
    expect(open.code).toBe(1);
    expect(open.stderr).toMatch(/http\.host is 0\.0\.0\.0, beyond loopback, and http\.token is empty/);
  });
});

describe('the fleet API Host check (DNS rebinding)', () => {
  it('answers only to its own names, loopback names and http.allowed_hosts', async () => {
    const url = await serve(new FleetDouble(), { allowed_hosts: ['central.lab'] });
    const port = new URL(url).port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `central.lab:${port}`])
      expect((await getWithHost(url, '/api/robots', host)).status, host).toBe(200);
    for (const host of [`rebind.attacker.example:${port}`, `central.lab.attacker.example:${port}`, 'x@127.0.0.1']) {
      const { status, body } = await getWithHost(url, '/api/robots', host);
      expect(status, host).toBe(421);
      expect(JSON.parse(body)).toMatchObject({
        error: 'host_refused',
        message: expect.stringMatching(/not a name central serve answers to.*http\.allowed_hosts/),
      });
    }
    // The page too: a rebound page must not even load the app that would call the API.
    expect((await getWithHost(url, '/', `rebind.attacker.example:${port}`)).status).toBe(421);
  });
});
