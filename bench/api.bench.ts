import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import type { JournalRecord } from '../daemon/contract/index.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DurableJournal } from '../daemon/journal/index.ts';
import { startHarness } from '../test/api/harness.ts';
import { SseClient } from '../test/api/sse-client.ts';
import { percentile, type BenchResult } from './bench.ts';
import { sleep } from '../daemon/util/index.ts';

// The local API's two hot paths, each beside a bare fastify route measured in the same run:
// - GET /metrics with 200 topics (and their subscribers) against a route that sends a precomputed string of
//   the same size, so the difference is the cost of collecting and rendering the metrics;
// - GET /events to 10 clients against a bare fastify SSE route that writes each event to every client as it
//   comes (no journal cursor, no buffer limit, no gap handling): the price of slow-client protection.

const TOPICS = 200;
const SCRAPES = 300;
const SSE_CLIENTS = 10;
export const SSE_EVENTS = 20_000;

async function scrapeTimes(url: string, n: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    const res = await fetch(url);
    await res.text();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b);
}

async function metricsScrape(): Promise<{ ours: number[]; bare: number[]; bytes: number }> {
  const h = await startHarness();
  try {
    const payload = new Uint8Array(64);
    for (let i = 0; i < TOPICS; i++) {
      const topic = `/robot/sensor_${i}/data`;
      h.bus.subscribe({
        name: `consumer_${i % 20}`,
        topic,
        queue: { policy: 'drop-oldest', depth: 10 },
        handler: () => {},
      });
      const pub = h.bus.advertise(topic, 'std_msgs/msg/ByteMultiArray', { source: 'bench' });
      for (let k = 0; k < 5; k++) pub.publish(payload);
    }
    await new Promise((r) => setImmediate(r));
    const text = await (await fetch(`${h.url}/metrics`)).text();
    const bare = Fastify();
    bare.get('/metrics', async (_req, reply) => reply.type('text/plain; version=0.0.4; charset=utf-8').send(text));
    await bare.listen({ host: '127.0.0.1', port: 0 });
    const bareUrl = `http://127.0.0.1:${(bare.server.address() as AddressInfo).port}/metrics`;
    await scrapeTimes(`${h.url}/metrics`, 30); // warm-up
    await scrapeTimes(bareUrl, 30);
    const ours = await scrapeTimes(`${h.url}/metrics`, SCRAPES);
    const bareTimes = await scrapeTimes(bareUrl, SCRAPES);
    await bare.close();
    return { ours, bare: bareTimes, bytes: Buffer.byteLength(text) };
  } finally {
    await h.close();
  }
}

function record(seq: number): Omit<JournalRecord, 'seq'> & { data: Record<string, unknown> } {
  return {
    ts: String(1_700_000_000_000_000_000n + BigInt(seq)),
    kind: 'agent_event',
    data: {
      event_id: '0190f6f0-0000-7000-8000-000000000000',
      run_id: '0190f6f0-0000-7000-8000-000000000001',
      kind: 'tool.result',
      payload: { call_id: `skill-${seq}`, tool: 'read_topic', result: { ok: true, output: 'x'.repeat(160) } },
      ts: '1700000000000000000',
    },
  };
}

/** Events per second delivered to every one of `clients` (counted when the last client has the last event). */
async function deliver(url: string, produce: () => Promise<void>): Promise<number> {
  const clients = Array.from({ length: SSE_CLIENTS }, () => new SseClient(url, {}, { keepEvents: false }));
  try {
    await Promise.all(clients.map((c) => c.until(() => c.status === 200, 'open')));
    await sleep(100);
    const start = performance.now();
    await produce();
    // A skip (a gap event, ids out of order) means the rest never comes: say so now rather than time out.
    const done = (c: SseClient) => c.seen.count >= SSE_EVENTS || c.seen.outOfOrder > 0;
    await Promise.all(clients.map((c) => c.until(() => done(c), 'every event', 120_000)));
    const seconds = (performance.now() - start) / 1000;
    const skipped = clients.filter((c) => c.seen.outOfOrder > 0);
    if (skipped.length > 0)
      throw new Error(
        `${skipped.length} client(s) got events out of order or skipped ahead (the first got ${skipped[0]!.seen.count} of ${SSE_EVENTS})`,
      );
    return SSE_EVENTS / seconds;
  } finally {
    for (const c of clients) c.close();
  }
}

/**
 * Our route's delivery rate, the journal appended `perTick` records at a time between turns of the event loop (a
 * loaded machine's clients fall further behind, as they do when all of them come in one turn).
 */
export async function sseOurs(perTick = 500): Promise<number> {
  // The real journal on disk (fsync never: what is measured is the API's delivery, not the disk).
  const dir = mkdtempSync(join(tmpdir(), 'bench-sse-'));
  const journal = new DurableJournal({ dir, fsync: 'never' });
  // Every event delivered, as the bare route delivers them: with the default api.events.max_lag (10,000) a client
  // that falls further behind the burst is skipped ahead with a gap event, as designed, and under load (2 to 4) the
  // 20,000-event burst outran the clients by that much, so the bench waited for events that were never to come.
  const h = await startHarness({ journal, api: { events: { max_lag: SSE_EVENTS } } });
  try {
    return await deliver(`${h.url}/events`, async () => {
      for (let i = 1; i <= SSE_EVENTS; i++) {
        const r = record(i);
        void journal.append(r.kind, r.data);
        if (i % perTick === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    });
  } finally {
    await h.close();
    await journal.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function sseBare(): Promise<number> {
  const source = new EventEmitter();
  source.setMaxListeners(0);
  const app = Fastify({ forceCloseConnections: true });
  app.get('/events', (_req, reply) => {
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    reply.raw.write('retry: 2000\n\n');
    const send = (frame: string) => reply.raw.write(frame);
    source.on('event', send);
    reply.raw.on('close', () => source.off('event', send));
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    return await deliver(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}/events`, async () => {
      for (let i = 1; i <= SSE_EVENTS; i++) {
        const r = record(i);
        source.emit('event', `id: ${i}\nevent: ${r.kind}\ndata: ${JSON.stringify({ seq: i, ...r })}\n\n`);
        if (i % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    });
  } finally {
    await app.close();
  }
}

async function best(times: number, measure: () => Promise<number>): Promise<number> {
  let top = 0;
  for (let i = 0; i < times; i++) top = Math.max(top, await measure());
  return top;
}

export async function run(): Promise<BenchResult[]> {
  const scrape = await metricsScrape();
  const p50 = percentile(scrape.ours, 50);
  const p99 = percentile(scrape.ours, 99);
  await sseOurs(); // warm-up
  await sseBare();
  const ours = await best(3, sseOurs);
  const bare = await best(3, sseBare);
  return [
    {
      name: `GET /metrics scrape, ${TOPICS} topics (p50)`,
      ours: p50,
      baseline: { name: 'bare fastify route, same text', value: percentile(scrape.bare, 50) },
      unit: 'ms',
      better: 'lower',
      goal: 'p99 < 50 ms',
      met: p99 < 50,
      notes: [
        `ours p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms; bare p50 ${percentile(scrape.bare, 50).toFixed(2)} ms, p99 ${percentile(scrape.bare, 99).toFixed(2)} ms`,
        `${scrape.bytes.toLocaleString('en-US')} bytes of metrics text per scrape, ${SCRAPES} scrapes each`,
      ],
    },
    {
      name: `SSE GET /events to ${SSE_CLIENTS} clients (events/s, each to every client)`,
      ours,
      baseline: { name: 'bare fastify SSE route', value: bare },
      unit: 'ev/s',
      better: 'higher',
      goal: '>= 0.5x the bare route',
      met: ours / bare >= 0.5,
      notes: [
        `${SSE_EVENTS.toLocaleString('en-US')} agent events of ~${JSON.stringify(record(1)).length} B, api.events.max_lag ${SSE_EVENTS.toLocaleString('en-US')} (no skip ahead); the bare route has no replay, no buffer limit and no gap handling`,
      ],
    },
  ];
}
