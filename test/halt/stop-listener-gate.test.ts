import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { Daemon } from '../../daemon/daemon.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { waitFor } from '../helpers/wait.ts';
import { listenerDaemon } from './listener-daemon.ts';

// The stop listener is the local operator's authority, held to the API's own gate: a web page on another origin, a
// page reaching it through DNS rebinding, or a client without the token stops nothing and releases nothing; the
// listener releases nothing at all (the latch is released through the API alone); and an attacker flooding it, or
// the API, does not keep the operator's stop out.

const cleanups = cleanupStack();
const TOKEN = 's3cret-token';
const JSON_TYPE = { 'content-type': 'application/json' };
const BEARER = { authorization: `Bearer ${TOKEN}` };

interface Reply {
  status: number;
  body: { error?: string; message?: string; stopped?: boolean; topic?: string; latched?: { by: string } | null };
  headers: Record<string, string | string[] | undefined>;
}

/** One request as a client shapes it, headers and all (Host included); the status and JSON body it got. */
function send(url: string, method: string, headers: Record<string, string>, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          body: text ? (JSON.parse(text) as Reply['body']) : {},
          headers: res.headers,
        }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

const daemonWithToken = (prefix: string) => listenerDaemon(cleanups, prefix, { api: { token: TOKEN } });

const latched = (daemon: Daemon) => daemon.haltAuthority.latch.state;

describe('the stop listener as the local operator holds it', () => {
  it('refuses a page on another origin, a rebinding Host, a form and a missing or wrong token, and stops nothing', async () => {
    const { daemon, stopUrl, line } = await daemonWithToken('stop-gate-');
    const order = JSON.stringify({ by: 'mallory' });
    const host = new URL(stopUrl).host;
    const refused: [string, Record<string, string>, number, string][] = [
      ['a page on another origin', { ...JSON_TYPE, ...BEARER, origin: 'http://evil.example' }, 403, 'cross_site'],
      ['a browser saying cross-site', { ...JSON_TYPE, ...BEARER, 'sec-fetch-site': 'cross-site' }, 403, 'cross_site'],
      ['a form post (no JSON type)', { 'content-type': 'text/plain', ...BEARER }, 415, 'unsupported_media_type'],
      ['DNS rebinding', { ...JSON_TYPE, ...BEARER, host: `evil.example:${new URL(stopUrl).port}` }, 403, 'forbidden'],
      ['no token', { ...JSON_TYPE }, 401, 'unauthorized'],
      ['a wrong token', { ...JSON_TYPE, authorization: 'Bearer guessed' }, 401, 'unauthorized'],
      ['a token in the wrong form', { ...JSON_TYPE, authorization: TOKEN }, 401, 'unauthorized'],
    ];
    for (const [what, headers, status, error] of refused) {
      const reply = await send(`${stopUrl}/stop`, 'POST', { host, ...headers }, order);
      expect({ what, status: reply.status, error: reply.body.error }).toEqual({ what, status, error });
    }
    expect(await send(`${stopUrl}/stop`, 'POST', { ...JSON_TYPE, ...BEARER }, '{"by": 7}')).toMatchObject({
      status: 400,
      body: { error: 'bad_request' },
    });
    const huge = JSON.stringify({ by: 'mallory', reason: 'x'.repeat(8 * 1024) });
    expect(await send(`${stopUrl}/stop`, 'POST', { ...JSON_TYPE, ...BEARER }, huge)).toMatchObject({
      status: 413,
      body: { error: 'payload_too_large' },
    });
    expect(line.stops).toBe(0);
    expect(latched(daemon)).toBeUndefined();

    const operator = await send(`${stopUrl}/stop`, 'POST', { ...JSON_TYPE, ...BEARER }, '{"by": "ada"}');
    expect(operator).toMatchObject({ status: 200, body: { stopped: true } });
    await waitFor(() => latched(daemon)?.by === 'ada', 'the latch');
  });

  it('releases nothing: not on the listener, and not from a page on another origin through the API', async () => {
    const { daemon, apiUrl, stopUrl } = await daemonWithToken('stop-gate-release-');
    expect(await send(`${stopUrl}/stop`, 'POST', { ...JSON_TYPE, ...BEARER }, '{"by": "ada"}')).toMatchObject({
      status: 200,
    });
    await waitFor(() => latched(daemon)?.by === 'ada', 'the latch');
    const release = '{"by": "mallory"}';
    const onListener = await send(`${stopUrl}/stop/release`, 'POST', { ...JSON_TYPE, ...BEARER }, release);
    expect(onListener.status).toBe(404);
    expect(onListener.body.message).toContain(apiUrl);
    expect((await send(`${stopUrl}/stop`, 'DELETE', { ...BEARER })).status).toBe(405);
    const fromPage = await send(
      `${apiUrl}/stop/release`,
      'POST',
      { ...JSON_TYPE, ...BEARER, origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' },
      release,
    );
    expect(fromPage).toMatchObject({ status: 403, body: { error: 'cross_site' } });
    expect((await send(`${apiUrl}/stop/release`, 'POST', { ...JSON_TYPE }, release)).status).toBe(401);
    expect(latched(daemon)?.by).toBe('ada');
  });

  it("lets the API's own page in by CORS, and no other page: a preflight, then the stop with the daemon's report", async () => {
    const { daemon, apiUrl, stopUrl, line } = await daemonWithToken('stop-gate-page-');
    const page = apiUrl; // the status page's origin: the API's
    const other = `http://127.0.0.1:${Number(new URL(apiUrl).port) + 100}`; // another local service's page
    const preflight = (origin: string, headers = 'authorization,content-type', method = 'POST', path = '/stop') =>
      send(`${stopUrl}${path}`, 'OPTIONS', {
        origin,
        'access-control-request-method': method,
        'access-control-request-headers': headers,
        'sec-fetch-site': 'same-site',
      });
    const granted = await preflight(page);
    expect(granted.status).toBe(204);
    expect(granted.headers).toMatchObject({
      'access-control-allow-origin': page,
      'access-control-allow-methods': 'POST',
      'access-control-allow-headers': 'authorization, content-type',
    });
    // Another page of this host, another origin, a header beyond the two, another method or path: no grant.
    for (const refused of [
      await preflight(other),
      await preflight('http://evil.example'),
      await preflight('null'),
      await preflight(page, 'authorization,content-type,x-forged'),
      await preflight(page, 'content-type', 'DELETE'),
      await preflight(page, 'content-type', 'POST', '/stop/release'),
    ]) {
      expect(refused).toMatchObject({ status: 403, body: { error: 'cross_site' } });
      expect(refused.headers['access-control-allow-origin']).toBeUndefined();
    }
    // The stops a browser sends: the same-site page of another origin stops nothing; the API's page without the
    // token is refused (and may read why, to ask for it), with it the robot stops and the page reads the report.
    const fromBrowser = (origin: string, headers: Record<string, string>) =>
      send(
        `${stopUrl}/stop?report=full`,
        'POST',
        { ...JSON_TYPE, ...headers, origin, 'sec-fetch-site': 'same-site' },
        '{"by": "status-page"}',
      );
    expect(await fromBrowser(other, BEARER)).toMatchObject({ status: 403, body: { error: 'cross_site' } });
    const noToken = await fromBrowser(page, {});
    expect(noToken).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
    expect(noToken.headers['access-control-allow-origin']).toBe(page);
    const noJson = await send(
      `${stopUrl}/stop`,
      'POST',
      { ...BEARER, 'content-type': 'text/plain', origin: page, 'sec-fetch-site': 'same-site' },
      '{}',
    );
    expect(noJson).toMatchObject({ status: 415, body: { error: 'unsupported_media_type' } });
    expect(await send(`${stopUrl}/stop?report=all`, 'POST', { ...JSON_TYPE, ...BEARER }, '{}')).toMatchObject({
      status: 400,
      body: { error: 'bad_request' },
    });
    expect(line.stops).toBe(0);
    expect(latched(daemon)).toBeUndefined();

    const stopped = await fromBrowser(page, BEARER);
    // The API's POST /stop's own report, from the main thread, through the listener.
    expect(stopped).toMatchObject({ status: 200, body: { topic: '/cmd_vel', latched: { by: 'status-page' } } });
    expect(stopped.body.stopped).toBeUndefined();
    expect(stopped.headers['access-control-allow-origin']).toBe(page);
    expect(line.stops).toBe(1);
    expect(latched(daemon)?.by).toBe('status-page');
  });

  it("takes the operator's stop while an attacker floods the listener and the API", { timeout: 90_000 }, async () => {
    const { daemon, apiUrl, stopUrl, line } = await daemonWithToken('stop-gate-flood-');
    const { port } = new URL(stopUrl);
    const sockets: Socket[] = [];
    cleanups.push(() => sockets.forEach((s) => s.destroy()));
    // Slow clients: each sends half a request's headers and holds its socket.
    for (let i = 0; i < 200; i++) {
      const socket = connect(Number(port), '127.0.0.1');
      socket.on('error', () => {});
      socket.write('POST /stop HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: app');
      sockets.push(socket);
    }
    let flooding = true;
    // The floods end with the test, passed or failed: a flood left running would hold the machine's CPUs.
    cleanups.push(() => void (flooding = false));
    const floods: Promise<unknown>[] = [];
    // Requests each flood has had answered (or refused).
    const rounds: number[] = [];
    const repeat = (once: () => Promise<unknown>) => {
      const flood = rounds.push(0) - 1;
      floods.push(
        (async () => {
          while (flooding) {
            await once().catch(() => undefined);
            rounds[flood]!++;
          }
        })(),
      );
    };
    const garbage = () =>
      new Promise<void>((resolve) => {
        const socket = connect(Number(port), '127.0.0.1', () => socket.end('\x16\x03\x01 not http at all\r\n\r\n'));
        socket.on('error', () => resolve());
        socket.on('close', () => resolve());
        socket.resume();
      });
    for (let i = 0; i < 16; i++) repeat(garbage);
    // Forged stops and releases, refused.
    for (let i = 0; i < 16; i++)
      repeat(() => send(`${stopUrl}/stop`, 'POST', { ...JSON_TYPE, origin: 'http://evil.example' }, '{}'));
    for (let i = 0; i < 16; i++)
      repeat(() => send(`${stopUrl}/stop/release`, 'POST', { ...JSON_TYPE, ...BEARER }, '{}'));
    // The API, busy.
    for (let i = 0; i < 64; i++) repeat(() => send(`${apiUrl}/status`, 'GET', { ...BEARER }));
    await waitFor(() => rounds.every((n) => n >= 2), 'every flood to have had two requests through', 60_000);

    const operator = await send(`${stopUrl}/stop`, 'POST', { ...JSON_TYPE, ...BEARER }, '{"by": "ada"}').finally(
      () => (flooding = false),
    );
    expect(operator).toMatchObject({ status: 200, body: { stopped: true } });
    expect(line.stops).toBe(1);
    await waitFor(() => latched(daemon)?.by === 'ada', 'the latch');
    await Promise.all(floods);
    expect(latched(daemon)?.by).toBe('ada'); // no forged release got through
    // The flood took the thread off real time (it would hold a core); with the flood over, it goes back.
    const listener = () =>
      (daemon.status().components.api!.details as { stop_listener: { scheduling: string; floodDemotions: number } })
        .stop_listener;
    expect(listener().floodDemotions).toBeGreaterThanOrEqual(1);
    if (process.getuid?.() === 0) {
      sockets.forEach((s) => s.destroy());
      await waitFor(() => listener().scheduling === 'SCHED_FIFO 60', 'the listener back to real time', 30_000);
    }
  });
});
