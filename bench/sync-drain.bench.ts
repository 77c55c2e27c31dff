import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { Outbox } from '../central-link/outbox.ts';
import { CursorWriter } from '../central-link/outbox-cursor.ts';
import { MqttConnection } from '../central-link/mqtt-connection.ts';
import { DurableJournal } from '../daemon/journal/durable-journal.ts';
import { startBroker } from '../test/helpers/mosquitto.ts';
import type { BenchResult } from './bench.ts';

// The events backlog drained after an outage: a journal of agent events written while the broker was away,
// sent by the outbox through the central link's MqttConnection (batches of central.outbox.batch_records,
// max_inflight PUBACKs outstanding, the cursor moved and saved as it goes) once the broker is back, until the
// cursor passes the last record; beside a bare mqtt.js publisher sending the same payloads at QoS 1 over its own
// connection to the same broker, all at once (mqtt.js queues them), until the last PUBACK. A subscriber counts
// what arrives for both.
// BENCH_SMOKE=1 makes it small.
const SMOKE = process.env.BENCH_SMOKE === '1';
const RECORDS = Number(process.env.BENCH_DRAIN_RECORDS ?? (SMOKE ? 5_000 : 100_000));
/** central.outbox's defaults. */
const BATCH_RECORDS = 200;
const BATCH_BYTES = 256 * 1024;
const MAX_INFLIGHT = Number(process.env.BENCH_DRAIN_INFLIGHT ?? 4);

function connect(url: string, clientId: string): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { clientId, protocolVersion: 5, reconnectPeriod: 0 });
    client.once('connect', () => resolve(client));
    client.once('error', reject);
  });
}

/**
 * A subscriber counting the messages on `topic` (without parsing them: it shares this process with the
 * publishers, and 40 kB of JSON per message would slow whichever side it interleaves with); `seen(n)` resolves
 * once n have arrived.
 */
async function counter(url: string, topic: string): Promise<{ seen(n: number): Promise<void>; close(): void }> {
  const client = await connect(url, `bench-count-${topic.replace(/\W/g, '')}`);
  await client.subscribeAsync(topic, { qos: 1 });
  let count = 0;
  let waiting: { n: number; resolve: () => void } | undefined;
  client.on('message', () => {
    count++;
    if (waiting && count >= waiting.n) waiting.resolve();
  });
  return {
    seen: (n) => (count >= n ? Promise.resolve() : new Promise((resolve) => (waiting = { n, resolve }))),
    close: () => void client.end(true),
  };
}

export async function run(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-drain-'));
  const broker = await startBroker();
  try {
    // The outage: records written with no broker to send them to.
    const journal = new DurableJournal({ dir: join(dir, 'log'), fsync: 'never' });
    const entries = Array.from({ length: RECORDS }, (_, n) => ({
      kind: 'agent_event',
      data: { event_id: `e-${n}`, run_id: 'r-1', kind: 'tool.call', payload: { tool: 'navigate_to', n } },
    }));
    for (let i = 0; i < entries.length; i += 1000) await journal.appendMany(entries.slice(i, i + 1000));

    // Ours: the outbox over the journal, publishing through the central link's own connection.
    const payloads: string[] = [];
    const silent = pino({ level: 'silent' });
    let connected!: () => void;
    const up = new Promise<void>((resolve) => (connected = resolve));
    const link = new MqttConnection({
      url: broker.url,
      clientId: 'bench-outbox',
      keepaliveS: 30,
      connectTimeoutMs: 5000,
      sessionExpiryS: 0,
      reconnectMinMs: 1000,
      reconnectMaxMs: 5000,
      maximumPacketSize: 1 << 20,
      will: { topic: 'bench/r1/status', payload: Buffer.from('offline') },
      subscriptions: [],
      unsubscriptions: [],
      onMessage: () => Promise.resolve(0),
      onConnect: () => connected(),
      onClose: () => undefined,
      log: silent,
    });
    await up;
    const oursCount = await counter(broker.url, 'bench/r1/events');
    const outbox = new Outbox({
      journal,
      publish: async (payload) => {
        payloads.push(payload);
        await link.publish('bench/r1/events', payload);
      },
      robot: 'r1',
      fleet: 'bench',
      cursor: { journal_id: 'j', acked_seq: 0 },
      writer: new CursorWriter(join(dir, 'cursor.json')),
      batchRecords: BATCH_RECORDS,
      batchBytes: BATCH_BYTES,
      maxInflight: MAX_INFLIGHT,
      maxPacketBytes: () => undefined,
      log: silent,
    });
    outbox.start();
    const t0 = performance.now();
    outbox.online();
    while (outbox.ackedSeq < journal.lastSeq) await new Promise((resolve) => setTimeout(resolve, 1));
    const oursS = (performance.now() - t0) / 1000;
    await oursCount.seen(payloads.length);
    await outbox.stop();
    await link.close(1000);
    oursCount.close();

    // The baseline: the same payloads from a bare mqtt.js publisher, all queued at once, QoS 1.
    const bare = await connect(broker.url, 'bench-bare');
    const bareCount = await counter(broker.url, 'bench/r2/events');
    const t1 = performance.now();
    await Promise.all(payloads.map((p) => bare.publishAsync('bench/r2/events', p, { qos: 1 })));
    const bareS = (performance.now() - t1) / 1000;
    await bareCount.seen(payloads.length);
    bare.end(true);
    bareCount.close();
    await journal.close();

    const rate = (s: number) => Math.round(RECORDS / s);
    return [
      {
        name: `events backlog drained after an outage (${RECORDS.toLocaleString('en-US')} agent events, outbox defaults)`,
        ours: rate(oursS),
        baseline: { name: 'bare mqtt.js publisher, same payloads, QoS 1, all queued at once', value: rate(bareS) },
        unit: 'events/s',
        better: 'higher',
        goal: '>= 0.8x the bare publisher',
        met: rate(oursS) >= 0.8 * rate(bareS),
        notes: [
          `${payloads.length} batches; outbox ${oursS.toFixed(2)} s (max_inflight ${MAX_INFLIGHT}), bare ${bareS.toFixed(2)} s`,
        ],
      },
    ];
  } finally {
    await broker.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}
