import { connect } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { MemoryJournal } from '../helpers/memory-journal.ts';
import { SyntheticJournal } from './fakes/synthetic-journal.ts';
import { startHarness, type Harness } from './harness.ts';
import { http } from './http.ts';
import { SseClient } from './sse-client.ts';
import { tick, waitFor } from '../helpers/wait.ts';

/** For vi.waitFor: its default (1 s) is too short on a loaded CI machine. */
const WAIT = { timeout: 20_000, interval: 10 };

let h: Harness | undefined;
const clients: SseClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await h?.close();
  h = undefined;
});

function sse(path: string, headers: Record<string, string> = {}, keepEvents = true): SseClient {
  const c = new SseClient(`${h!.url}${path}`, headers, { keepEvents });
  clients.push(c);
  return c;
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function append(journal: MemoryJournal, n: number, kind = 'agent_event'): Promise<void> {
  for (let i = 0; i < n; i++) await journal.append(kind, { i });
}

describe('GET /events', () => {
  it('starts live at the journal end, and replays what was missed after a reconnect with Last-Event-ID', async () => {
    const journal = new MemoryJournal();
    await append(journal, 10);
    h = await startHarness({ journal });
    const first = sse('/events');
    // The hub takes the journal's end before it answers 200: what is appended from here is live.
    await first.until(() => first.status === 200, 'the stream to open');
    await append(journal, 3);
    await first.until((e) => e.length >= 3, 'three live events');
    expect(first.ids()).toEqual([11, 12, 13]);
    const record = JSON.parse(first.events[0]!.data) as { seq: number; kind: string; data: unknown };
    expect(record).toMatchObject({ seq: 11, kind: 'agent_event', data: { i: 0 } });
    first.close();

    await append(journal, 7); // 14..20 while the client is away
    const again = sse('/events', { 'last-event-id': '13' });
    await again.until((e) => e.length >= 7, 'the replay');
    await append(journal, 1);
    await again.until((e) => e.length >= 8, 'the live tail after the replay');
    expect(again.ids()).toEqual(range(14, 21));
  });

  it('filters by kind and accepts last_event_id in the query for clients that cannot set headers', async () => {
    const journal = new MemoryJournal();
    await append(journal, 2, 'agent_event');
    await append(journal, 2, 'run_state');
    h = await startHarness({ journal });
    const c = sse('/events?kinds=run_state&last_event_id=0');
    await c.until((e) => e.length >= 2, 'two run states');
    await journal.append('agent_event', {});
    await journal.append('run_state', {});
    await c.until((e) => e.length >= 3, 'the live run state');
    expect(c.events.map((e) => [e.event, e.id])).toEqual([
      ['run_state', '3'],
      ['run_state', '4'],
      ['run_state', '6'],
    ]);
  });

  it('tells the client with a gap event when it asks for records the journal no longer holds', async () => {
    const journal = new MemoryJournal();
    await append(journal, 10);
    journal.forget(6);
    h = await startHarness({ journal });
    const c = sse('/events', { 'last-event-id': '2' });
    await c.until((e) => e.length >= 5, 'the gap and the replay');
    expect(c.events[0]!.event).toBe('gap');
    expect(JSON.parse(c.events[0]!.data)).toMatchObject({ from: 3, to: 6, skipped: 4 });
    expect(c.events[0]!.id).toBe('6');
    expect(c.ids()).toEqual([7, 8, 9, 10]);
  });

  it('skips a replay longer than api.events.max_lag ahead with a gap event', async () => {
    const journal = new MemoryJournal();
    await append(journal, 100);
    h = await startHarness({ journal, api: { events: { max_lag: 20 } } });
    const c = sse('/events?last_event_id=0');
    await c.until((e) => e.some((x) => x.id === '100'), 'the end of the journal');
    const gap = JSON.parse(c.events[0]!.data) as { from: number; to: number; reason: string };
    expect(c.events[0]!.event).toBe('gap');
    expect(gap.from).toBe(1);
    expect(gap.reason).toContain('max_lag');
    expect(c.ids()).toEqual(range(gap.to + 1, 100));
  });

  it('resets a client whose Last-Event-ID is past the journal end (a new data dir) to the end', async () => {
    const journal = new MemoryJournal();
    await append(journal, 3);
    h = await startHarness({ journal });
    const c = sse('/events', { 'last-event-id': '500' });
    await c.until((e) => e.length >= 1, 'the reset event');
    expect(c.events[0]!.event).toBe('reset');
    await append(journal, 1);
    await c.until((e) => e.length >= 2, 'the live event');
    expect(c.ids()).toEqual([4]);
  });

  it('rejects a malformed Last-Event-ID or kinds by path', async () => {
    h = await startHarness();
    const id = await http(h.url, '/events', { headers: { 'last-event-id': 'abc' } });
    expect(id.status).toBe(400);
    expect(id.json.issues?.[0]?.path).toBe('headers.last-event-id');
    const kinds = await http(h.url, '/events?kinds=Agent%20Event');
    expect(kinds.json.issues?.[0]?.path).toBe('querystring.kinds');
  });

  it('answers 400 for a record kind the journal never writes, with a did-you-mean, rather than an empty stream', async () => {
    h = await startHarness();
    const typo = await http(h.url, '/events?kinds=run_state,agent_events');
    expect(typo.status).toBe(400);
    expect(typo.json.issues?.[0]?.path).toBe('querystring.kinds');
    expect(typo.json.message).toContain(
      'unknown journal record kind "agent_events" (the journal holds agent_event, run_state); did you mean "agent_event"?',
    );
    const bogus = await http(h.url, '/events?kinds=bogus');
    expect([bogus.status, bogus.json.message]).toEqual([
      400,
      'querystring.kinds: unknown journal record kind "bogus" (the journal holds agent_event, run_state)',
    ]);
    const agentKind = await http(h.url, '/events?kinds=approval.granted');
    expect(agentKind.status).toBe(400);
    expect(agentKind.json.message).toContain('ask for kinds=agent_event');
  });
});

describe('a slow SSE client', () => {
  // A gc() to measure retained memory, not garbage not yet collected.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;

  it("does not grow the daemon's memory: it is held at its buffer limit, then skipped ahead with a gap", async () => {
    const payload = 2048;
    const journal = new SyntheticJournal(payload);
    const maxBuffered = 64 * 1024;
    h = await startHarness({
      journal,
      api: { events: { max_buffered_bytes: maxBuffered, max_lag: 1000, stall_timeout_s: 600 } },
    });
    const port = Number(new URL(h.url).port);

    // The slow client: sends its request, then never reads.
    const slow = connect(port, '127.0.0.1');
    slow.pause();
    slow.write('GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n');
    const fast = sse('/events', {}, false);
    const hub = h.api!.server!.hub;
    await waitFor(() => hub.clients >= 2, 'both clients to connect');
    expect(hub.clients).toBe(2);

    gc();
    const before = process.memoryUsage().heapUsed;
    const total = 40_000; // ~85 MB of events
    let peakBuffered = 0;
    for (let sent = 0; sent < total; sent += 500) {
      journal.burst(500);
      await new Promise((r) => setImmediate(r));
      for (const s of hub.streams()) peakBuffered = Math.max(peakBuffered, s.buffered);
    }
    await fast.until(() => fast.seen.lastId === total, 'the fast client to get every event', 30_000);
    gc();
    const grown = process.memoryUsage().heapUsed - before;

    const frameBytes = payload + 200;
    const slowStream = hub.streams().find((s) => s.cursor <= total);
    expect(slowStream, 'the slow client is still connected, held back').toBeDefined();
    expect(Math.max(peakBuffered, ...hub.streams().map((s) => s.peakBuffered))).toBeLessThanOrEqual(
      maxBuffered + frameBytes,
    );
    // 85 MB went through; the API keeps a bounded ring of recent frames (2048 x ~2 KB) and nothing per event.
    expect(grown).toBeLessThan(10 * 1024 * 1024);
    expect(fast.seen).toEqual({ count: total, lastId: total, outOfOrder: 0 });

    // Once it reads again it gets a gap marker and then the tail, not 85 MB of backlog.
    let text = '';
    slow.setEncoding('utf8');
    slow.on('data', (d: string) => (text += d));
    slow.resume();
    await waitFor(() => text.includes(`id: ${total}\n`), 'the slow client to read up to the last event', 30_000);
    expect(text).toContain('event: gap');
    expect(text).toContain(`id: ${total}\n`);
    const gaps = (await http(h.url, '/metrics')).text.match(/^auraison_sse_gaps_total (\d+)$/m);
    expect(Number(gaps?.[1])).toBeGreaterThanOrEqual(1);
    slow.destroy();
  });

  it('cuts off a client that reads nothing for api.events.stall_timeout_s', async () => {
    const journal = new SyntheticJournal(4096);
    h = await startHarness({ journal, api: { events: { max_buffered_bytes: 8192, stall_timeout_s: 0.3 } } });
    const port = Number(new URL(h.url).port);
    const slow = connect(port, '127.0.0.1');
    slow.pause();
    slow.write('GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const hub = h.api!.server!.hub;
    await waitFor(() => hub.clients >= 1, 'the slow client to connect');
    for (let i = 0; i < 20; i++) {
      journal.burst(1000); // 80 MB in all: far more than the socket buffers hold
      await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => hub.clients === 0, 'the stalled client to be cut off');
    expect(hub.clients).toBe(0);
    const metrics = (await http(h.url, '/metrics')).text;
    expect(metrics).toContain('auraison_sse_disconnects_total{reason="stalled"} 1');
    slow.destroy();
  });

  it('cuts off a live map viewer that reads nothing for api.events.stall_timeout_s, as on /events', async () => {
    h = await startHarness({ api: { events: { max_buffered_bytes: 8192, stall_timeout_s: 0.3 } } });
    const codec = new MessageCodec(h.definitions);
    const map = h.bus.advertise('/map', 'nav_msgs/msg/OccupancyGrid', { source: 'test' });
    const grid = (fill: number) =>
      codec.encode('nav_msgs/msg/OccupancyGrid', {
        header: { frame_id: 'map' },
        info: {
          resolution: 0.05,
          width: 1000,
          height: 1000,
          origin: { position: { x: 0, y: 0, z: 0 }, orientation: { x: 0, y: 0, z: 0, w: 1 } },
        },
        data: new Int8Array(1_000_000).fill(fill),
      });
    const viewers = async () =>
      Number((await http(h!.url, '/metrics')).text.match(/^auraison_live_map_viewers (\d+)$/m)?.[1]);
    const slow = connect(Number(new URL(h.url).port), '127.0.0.1');
    slow.pause();
    slow.write('GET /live/map HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await vi.waitFor(async () => expect(await viewers()).toBe(1), WAIT);
    // 1.3 MB of JSON a map: a few fill the socket buffers, and the viewer reads none of it.
    for (let i = 0; i < 20; i++) {
      map.publish(grid(i % 100));
      await tick(); // the live map writes it before the next
    }
    await vi.waitFor(async () => expect(await viewers()).toBe(0), WAIT);
    expect((await http(h.url, '/metrics')).text).toContain('auraison_live_map_stalled_total 1');
    slow.destroy();
  });
});
