import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { JournalRecord } from '../../daemon/contract/services.ts';
import { waitFor } from '../helpers/wait.ts';
import { MemoryJournal } from '../helpers/memory-journal.ts';
import { startHarness, type Harness } from './harness.ts';
import { http } from './http.ts';
import { SseClient } from './sse-client.ts';

// Replaying the journal to SSE clients (GET /events with Last-Event-ID) must not take the daemon from the
// operator: 500 clients asking for last_event_id=0 froze a daemon for 37 s and took its heap to 1 GB. A
// replay is read in slices that yield to the event loop, from one reader the clients share, and the
// clients and replays at once are capped (503 with Retry-After past the cap).

let h: Harness | undefined;
const sockets: Socket[] = [];
const clients: SseClient[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const c of clients.splice(0)) c.close();
  await h?.close();
  h = undefined;
});

/** A journal that counts the records read from it, in all and since the event loop's last turn. */
class CountingJournal extends MemoryJournal {
  recordsRead = 0;
  sinceTurn = 0;
  mostInOneTurn = 0;
  #turns: NodeJS.Immediate | undefined;

  override read(fromSeq: number, limit: number): JournalRecord[] {
    const records = super.read(fromSeq, limit);
    this.recordsRead += records.length;
    this.sinceTurn += records.length;
    this.mostInOneTurn = Math.max(this.mostInOneTurn, this.sinceTurn);
    return records;
  }

  /** Counts per turn from now on: each turn of the event loop starts the count again. */
  watchTurns(): () => void {
    const turn = (): void => {
      this.sinceTurn = 0;
      this.#turns = setImmediate(turn);
    };
    turn();
    return () => clearImmediate(this.#turns);
  }
}

async function filled(records: number): Promise<CountingJournal> {
  const journal = new CountingJournal();
  await Promise.all(
    Array.from({ length: records }, (_, i) => journal.append('agent_event', { i, text: 'event '.repeat(20) })),
  );
  return journal;
}

function sse(path: string): SseClient {
  const client = new SseClient(`${h!.url}${path}`, {}, { keepEvents: false });
  clients.push(client);
  return client;
}

/** A client that sends its request and then reads nothing: its replay never finishes. */
function stuckClient(path: string): void {
  const socket = connect(Number(new URL(h!.url).port), '127.0.0.1');
  sockets.push(socket);
  socket.pause();
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
}

describe('replaying the journal to SSE clients', () => {
  it('reads each stretch of the journal once for all the clients replaying it', async () => {
    const total = 3000;
    const journal = await filled(total);
    h = await startHarness({ journal, api: { events: { max_clients: 100, max_replays: 100 } } });
    const many = Array.from({ length: 40 }, () => sse('/events?last_event_id=0'));
    for (const c of many) await c.until(() => c.seen.lastId === total, 'every client to replay the whole journal');
    expect(many.map((c) => c.seen)).toEqual(many.map(() => ({ count: total, lastId: total, outOfOrder: 0 })));
    // One read per client would be 40 x 3000 records.
    expect(journal.recordsRead).toBeLessThan(3 * total);
  });

  it('is read in slices across turns of the event loop, not in one go', async () => {
    const total = 20_000;
    const journal = await filled(total);
    // A buffer that takes the whole journal: nothing but the slicing makes the replay yield.
    h = await startHarness({ journal, api: { events: { max_buffered_bytes: 256 * 1024 * 1024, max_lag: 100_000 } } });
    const stopWatching = journal.watchTurns();
    const client = sse('/events?last_event_id=0');
    await client.until(() => client.seen.lastId === total, 'the client to replay the whole journal', 60_000);
    stopWatching();
    expect(client.seen).toEqual({ count: total, lastId: total, outOfOrder: 0 });
    expect(journal.mostInOneTurn).toBeLessThan(total / 20);
  });

  it('answers 503 with Retry-After past api.events.max_clients, and counts it', async () => {
    h = await startHarness({ journal: await filled(10), api: { events: { max_clients: 2 } } });
    const first = sse('/events');
    const second = sse('/events');
    await waitFor(() => h!.api!.server!.hub.clients === 2, 'two clients to connect');
    const third = await fetch(`${h.url}/events`);
    expect(third.status).toBe(503);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await third.json()).toEqual({ error: 'busy', message: expect.stringContaining('api.events.max_clients') });
    first.close();
    await waitFor(() => h!.api!.server!.hub.clients === 1, 'the first client to be gone');
    const again = sse('/events');
    await waitFor(() => again.status === 200, 'a client to get in once one left');
    expect(second.closed).toBe(false);
    const metrics = (await http(h.url, '/metrics')).text;
    expect(metrics).toMatch(/^auraison_sse_refused_total\{cap="clients"\} 1$/m);
  });

  it('answers 503 with Retry-After past api.events.max_replays, and still lets live clients in', async () => {
    h = await startHarness({
      journal: await filled(5000),
      api: { events: { max_replays: 1, max_buffered_bytes: 4096 } },
    });
    stuckClient('/events?last_event_id=0');
    await waitFor(() => h!.api!.server!.hub.clients === 1, 'the stuck client to connect');
    const replay = await fetch(`${h.url}/events?last_event_id=10`);
    expect(replay.status).toBe(503);
    expect(replay.headers.get('retry-after')).toBe('1');
    expect(await replay.json()).toEqual({ error: 'busy', message: expect.stringContaining('api.events.max_replays') });
    const live = sse('/events');
    await waitFor(() => live.status === 200, 'a live client to connect');
    const metrics = (await http(h.url, '/metrics')).text;
    expect(metrics).toMatch(/^auraison_sse_replays 1$/m);
    expect(metrics).toMatch(/^auraison_sse_refused_total\{cap="replays"\} 1$/m);
  });
});
