import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.ts';
import { http } from './http.ts';

// What curl and odd clients send that no route expects: the wrong method, OPTIONS and HEAD, bodies that
// are not plain UTF-8 JSON, a query of many unknown keys, a request without Host.

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('methods', () => {
  it('answers a known path asked with another method 405 with Allow, and an unknown path 404', async () => {
    h = await startHarness();
    const cases: [string, string, string][] = [
      ['POST', '/healthz', 'GET, HEAD'],
      ['GET', '/intents', 'POST'],
      ['DELETE', '/runs/0190aaaa-0000-7000-8000-000000000001/approve', 'POST'],
      ['GET', '/inference/llm/Qwen/Qwen2.5-7B', 'POST'],
      ['PUT', '/page/app.js', 'GET, HEAD'],
    ];
    for (const [method, path, allow] of cases) {
      const r = await http(h.url, path, { method });
      expect(r.status, `${method} ${path}`).toBe(405);
      expect(r.headers.get('allow')).toBe(allow);
      expect(r.json).toEqual({ error: 'method_not_allowed', message: `${method} ${path}: this route takes ${allow}` });
    }
    const unknown = await http(h.url, '/healthz/extra', { method: 'POST' });
    expect(unknown.status).toBe(404);
    expect(unknown.json.error).toBe('not_found');
  });

  it('answers OPTIONS with 204 and Allow (and no CORS headers), after the token check', async () => {
    h = await startHarness({ api: { host: '0.0.0.0', token: 'secret' } });
    const r = await http(h.url, '/runs', {
      method: 'OPTIONS',
      headers: { authorization: 'Bearer secret', origin: 'https://elsewhere.example' },
    });
    expect(r.status).toBe(204);
    expect(r.headers.get('allow')).toBe('GET, HEAD');
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
    expect((await http(h.url, '/runs', { method: 'OPTIONS' })).status).toBe(401);
    expect(
      (await http(h.url, '/nope', { method: 'OPTIONS', headers: { authorization: 'Bearer secret' } })).status,
    ).toBe(404);
  });

  it('answers HEAD on an event stream with its headers and ends it, opening no stream', async () => {
    h = await startHarness({ api: { events: { heartbeat_s: 7 } } });
    for (const path of ['/events', '/live/map']) {
      const r = await http(h.url, path, { method: 'HEAD' });
      expect(r.status, path).toBe(200);
      expect(r.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      expect(r.headers.get('x-heartbeat-ms')).toBe('7000');
    }
    expect(h.api!.server!.hub.clients).toBe(0);
    expect(h.api!.server!.live.viewers).toBe(0);
    // The filter is still checked.
    expect((await http(h.url, '/events?kinds=nope', { method: 'HEAD' })).status).toBe(400);
  });
});

describe('bodies', () => {
  it('refuses a compressed body or another charset with 415 rather than reading garbage', async () => {
    h = await startHarness();
    const gz = await fetch(`${h.url}/intents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync('{"type":"navigate"}'),
    });
    expect(gz.status).toBe(415);
    expect(await gz.json()).toEqual({
      error: 'unsupported_media_type',
      message: 'Content-Encoding "gzip" is not supported: send the body uncompressed',
    });
    const latin1 = await http(h.url, '/intents', {
      raw: '{}',
      headers: { 'content-type': 'application/json; charset=ISO-8859-1' },
    });
    expect(latin1.status).toBe(415);
    expect(latin1.json.message).toContain('charset "iso-8859-1" is not supported');
    const utf8 = await http(h.url, '/intents', {
      raw: '{}',
      headers: { 'content-type': 'application/json; charset="UTF-8"' },
    });
    expect(utf8.status).toBe(400);
    expect(utf8.json.issues).toEqual([{ path: 'body.type', message: 'required' }]);
  });

  it('refuses bytes that are not UTF-8 with a 400 naming the body, and takes a leading byte order mark', async () => {
    h = await startHarness();
    const bad = await fetch(`${h.url}/intents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.concat([Buffer.from('{"type":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]),
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({
      error: 'bad_request',
      message: 'body: not valid UTF-8; JSON must be sent as UTF-8',
      issues: [{ path: 'body', message: 'not valid UTF-8; JSON must be sent as UTF-8' }],
    });
    const bom = await http(h.url, '/intents', { raw: '\uFEFF{}', headers: { 'content-type': 'application/json' } });
    expect(bom.status).toBe(400);
    expect(bom.json.issues).toEqual([{ path: 'body.type', message: 'required' }]);
  });
});

describe('query strings and headers', () => {
  it('says what is wrong with a query of more unknown keys than the validator lists', async () => {
    h = await startHarness();
    const query = Array.from({ length: 100 }, (_, i) => `k${i}=1`).join('&');
    const r = await http(h.url, `/runs?${query}`);
    expect(r.status).toBe(400);
    expect(r.json.message).toMatch(/^querystring\.k0: unknown key \(known keys: /);
    expect(r.json.issues![0]!.path).toBe('querystring.k0');
  });

  it("answers an HTTP/1.1 request without Host 400 in the API's error shape", async () => {
    h = await startHarness();
    const { port } = new URL(h.url);
    const answer = await new Promise<string>((resolve) => {
      const socket = connect(Number(port), '127.0.0.1');
      let text = '';
      socket.on('data', (d) => (text += d.toString()));
      socket.on('close', () => resolve(text));
      socket.write('GET /healthz HTTP/1.1\r\n\r\n');
    });
    expect(answer).toMatch(/^HTTP\/1.1 400 /);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toEqual({
      error: 'bad_request',
      message: 'missing Host header: HTTP/1.1 requires one',
    });
  });
});
