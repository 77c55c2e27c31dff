import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.ts';
import { startHarness, type Harness } from './harness.ts';
import { SseClient } from './sse-client.ts';

// Slow clients (slowloris): a peer, token in hand, that sends its request a byte at a time, or not at all,
// must not hold a connection and its buffers for ever; an event stream, whose request came in whole, is
// not a slow client however long it stays open.

let h: Harness | undefined;
const sockets: Socket[] = [];
const closers: (() => void)[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const close of closers.splice(0)) close();
  await h?.close();
  h = undefined;
});

const TOKEN = 'secret';
const AUTH = `Authorization: Bearer ${TOKEN}\r\n`;

/** A raw connection that sends `head`, then one byte of `trickle` every 20 ms until the server closes it. */
function slowClient(url: string, head: string, trickle = '') {
  const { port } = new URL(url);
  const socket = connect(Number(port), '127.0.0.1');
  sockets.push(socket);
  const state = { answer: '', closed: false, sent: 0 };
  socket.on('data', (d) => (state.answer += d.toString()));
  socket.on('error', () => {}); // a reset after the 408 is the server closing, which `close` records
  socket.on('close', () => {
    state.closed = true;
    clearInterval(timer);
  });
  socket.write(head);
  const timer = setInterval(() => {
    if (state.sent < trickle.length && socket.writable) socket.write(trickle[state.sent++]!);
  }, 20);
  return state;
}

async function openConnections(): Promise<number> {
  return new Promise((resolve, reject) =>
    h!.api!.server!.app.server.getConnections((e, n) => (e ? reject(e) : resolve(n))),
  );
}

const body = '{"type":"navigate","params":{"goal":"' + 'x'.repeat(10_000) + '"}}';

describe('a request that does not arrive in time (api.request_timeout_s)', () => {
  it('is answered 408 and its connection closed: a body trickled a byte at a time, by a client with the token', async () => {
    h = await startHarness({ api: { host: '0.0.0.0', token: TOKEN, request_timeout_s: 0.3 } });
    const peer = slowClient(
      h.url,
      `POST /intents HTTP/1.1\r\nHost: robot\r\n${AUTH}Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      body,
    );
    await waitFor(() => peer.closed, 'the server to close the trickling connection');
    expect(peer.sent).toBeLessThan(body.length);
    expect(peer.answer).toMatch(/^HTTP\/1.1 408 /);
    expect(JSON.parse(peer.answer.slice(peer.answer.indexOf('\r\n\r\n') + 4))).toEqual({
      error: 'timeout',
      message: expect.stringContaining('api.request_timeout_s'),
    });
    expect(await openConnections()).toBe(0);
    // Counted: a cut connection is not silent.
    const metrics = await (await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    expect(metrics).toContain('auraison_api_client_errors_total{error="timeout"} 1');
  });

  it('is answered 408 when its headers trickle in, or when it sends nothing at all', async () => {
    h = await startHarness({ api: { request_timeout_s: 0.3 } });
    const trickle = 'Host: localhost\r\n' + 'X-Slow: 1\r\n'.repeat(100) + '\r\n';
    const headers = slowClient(h.url, 'GET /status HTTP/1.1\r\n', trickle);
    const silent = slowClient(h.url, '');
    await waitFor(() => headers.closed && silent.closed, 'the server to close both connections');
    expect(headers.sent).toBeLessThan(trickle.length);
    expect(headers.answer).toMatch(/^HTTP\/1.1 408 /);
    expect(silent.answer).toMatch(/^HTTP\/1.1 408 /);
  });

  it('leaves an event stream open and streaming long after the bound, with its heartbeats', async () => {
    h = await startHarness({
      api: { host: '0.0.0.0', token: TOKEN, request_timeout_s: 0.3, events: { heartbeat_s: 0.05 } },
    });
    const events = new SseClient(`${h.url}/events`, { authorization: `Bearer ${TOKEN}` });
    closers.push(() => events.close());
    const map = rawStream(`${h.url}/live/map`);
    await waitFor(
      () => h!.api!.server!.hub.clients === 1 && h!.api!.server!.live.viewers === 1,
      'both streams to open',
    );

    // A slow request opened after the streams is cut: the bound has passed for them too.
    const peer = slowClient(
      h.url,
      `POST /intents HTTP/1.1\r\nHost: robot\r\n${AUTH}Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      body,
    );
    await waitFor(() => peer.closed, 'the slow request to be cut');
    expect(peer.answer).toMatch(/^HTTP\/1.1 408 /);

    await h.journal.append('agent_event', {
      kind: 'tool.call',
      run_id: '0190aaaa-0000-7000-8000-000000000001',
      payload: { note: 'after the bound' },
    });
    await events.until(
      (list) => list.some((e) => e.data.includes('after the bound')),
      'the event sent after the bound',
    );
    const pings = map.pings();
    await waitFor(() => map.pings() > pings, 'a heartbeat on /live/map after the bound');
    expect(events.closed).toBe(false);
    expect(map.closed()).toBe(false);
  });

  it("does not bound a route's own wait once the request has arrived (an inference slower than the bound)", async () => {
    h = await startHarness({ api: { request_timeout_s: 0.3 } });
    let release: (() => void) | undefined;
    h.bus.serve('ai/inference/llm/slow', async (req) => {
      await new Promise<void>((resolve) => (release = resolve));
      return { encoding: 'application/json', payload: req.payload };
    });
    const answer = fetch(`${h.url}/inference/llm/slow`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: { x: 1 } }),
    });
    await waitFor(() => release !== undefined, 'the inference to reach its handler');
    const peer = slowClient(
      h.url,
      `POST /intents HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      body,
    );
    await waitFor(() => peer.closed, 'a slow request opened after it to be cut');
    release!();
    const r = await answer;
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ output: { x: 1 } });
  });

  it('does not write a 408 into an event stream already under way (a GET that announced a body it never sent)', async () => {
    h = await startHarness({ api: { request_timeout_s: 0.3, events: { heartbeat_s: 0.05 } } });
    const peer = slowClient(h.url, 'GET /events HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\n');
    await waitFor(() => peer.closed, 'the stream of the incomplete request to be cut');
    expect(peer.answer).toMatch(/^HTTP\/1.1 200 /);
    expect(peer.answer).toContain('text/event-stream');
    expect(peer.answer).not.toContain('HTTP/1.1 408');
  });
});

describe('an idle keep-alive connection (api.keep_alive_timeout_s)', () => {
  it('is closed once it has been idle that long after its last reply', async () => {
    h = await startHarness({ api: { keep_alive_timeout_s: 0.2 } });
    const peer = slowClient(h.url, 'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await waitFor(() => peer.closed, 'the idle keep-alive connection to close');
    expect(peer.answer).toMatch(/^HTTP\/1.1 200 /);
  });
});

/** A GET left open, counting the `: ping` comments it receives. */
function rawStream(url: string) {
  let text = '';
  let res: IncomingMessage | undefined;
  let closed = false;
  const req = httpRequest(url, { headers: { authorization: `Bearer ${TOKEN}` } }, (r) => {
    res = r;
    r.setEncoding('utf8');
    r.on('data', (d: string) => (text += d));
    r.on('close', () => (closed = true));
  });
  req.on('error', () => (closed = true));
  req.end();
  closers.push(() => {
    res?.destroy();
    req.destroy();
  });
  return { pings: () => text.split(': ping\n\n').length - 1, closed: () => closed };
}
