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
import { sleep } from '../daemon/util/index.ts';

// The events backlog drained after an outage: a journal of agent events written while the broker was away,
// sent by the outbox through the central link's MqttConnection (batches of central.outbox.batch_records,
// max_inflight PUBACKs outstanding, the cursor moved and saved as it goes) once the broker is back, until the
// cursor passes the last record; beside a bare mqtt.js publisher sending the same payloads at QoS 1 over its own
// connection to the same broker, all at once (mqtt.js queues them), until the last PUBACK. A subscriber counts
// what arrives for both.
// BENCH_SMOKE=1 makes it small; BENCH_DRAIN_ROUNDS sets the rounds (5), BENCH_DRAIN_INFLIGHT max_inflight (4).
const SMOKE = process.env.BENCH_SMOKE === '1';
const RECORDS = Number(process.env.BENCH_DRAIN_RECORDS ?? (SMOKE ? 5_000 : 100_000));
/** central.outbox's defaults. */
const BATCH_RECORDS = 200;
const BATCH_BYTES = 256 * 1024;
const MAX_INFLIGHT = Number(process.env.BENCH_DRAIN_INFLIGHT ?? 4);
const ROUNDS = SMOKE ? 1 : Number(process.env.BENCH_DRAIN_ROUNDS ?? 5);

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

/** The central link's own connection, as the daemon opens it; resolves once connected. */
async function linkTo(url: string): Promise<MqttConnection> {
  let connected!: () => void;
  const up = new Promise<void>((resolve) => (connected = resolve));
  const link = new MqttConnection({
    url,
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
    log: pino({ level: 'silent' }),
  });
  await up;
  return link;
}

/** Ours: the outbox over the journal from a cursor at 0, until the cursor passes the last record; seconds. */
async function drainOutbox(
  journal: DurableJournal,
  link: MqttConnection,
  url: string,
  cursorFile: string,
  topic: string,
): Promise<{ seconds: number; cpuMs: number; payloads: Buffer[] }> {
  const payloads: Buffer[] = [];
  const count = await counter(url, topic);
  const outbox = new Outbox({
    journal,
    publish: async (payload) => {
      payloads.push(payload);
      await link.publish(topic, payload);
    },
    robot: 'r1',
    fleet: 'bench',
    cursor: { journal_id: 'j', acked_seq: 0 },
    writer: new CursorWriter(cursorFile),
    batchRecords: BATCH_RECORDS,
    batchBytes: BATCH_BYTES,
    maxInflight: MAX_INFLIGHT,
    maxPacketBytes: () => link.serverMaximumPacketSize,
    receiveMaximum: () => link.serverReceiveMaximum,
    log: pino({ level: 'silent' }),
  });
  outbox.start();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  outbox.online();
  while (outbox.ackedSeq < journal.lastSeq) await sleep(1);
  const seconds = (performance.now() - t0) / 1000;
  const cpuMs = cpuMsSince(cpu0);
  await count.seen(payloads.length);
  await outbox.close();
  count.close();
  return { seconds, cpuMs, payloads };
}

/** This process's CPU time (user and system) since `from`, in ms: less shaken by the other tenants than wall time. */
function cpuMsSince(from: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(from);
  return (user + system) / 1000;
}

/** The baseline: the same payloads from a bare mqtt.js publisher, all queued at once, QoS 1; seconds, CPU ms. */
async function drainBare(url: string, payloads: Buffer[], topic: string): Promise<{ seconds: number; cpuMs: number }> {
  const bare = await connect(url, 'bench-bare');
  const count = await counter(url, topic);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(payloads.map((p) => bare.publishAsync(topic, p, { qos: 1 })));
  const seconds = (performance.now() - t0) / 1000;
  const cpuMs = cpuMsSince(cpu0);
  await count.seen(payloads.length);
  bare.end(true);
  count.close();
  return { seconds, cpuMs };
}

/**
 * The outage's backlog, appended 1,000 at a time: the entries are not kept afterwards (a daemon holds none of
 * them either), so the drains' garbage collections walk a heap of a daemon's size.
 */
async function writeBacklog(journal: DurableJournal): Promise<void> {
  for (let i = 0; i < RECORDS; i += 1000)
    await journal.appendMany(
      Array.from({ length: Math.min(1000, RECORDS - i) }, (_, k) => ({
        kind: 'agent_event',
        data: { event_id: `e-${i + k}`, run_id: 'r-1', kind: 'tool.call', payload: { tool: 'navigate_to', n: i + k } },
      })),
    );
}

export async function run(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-drain-'));
  // As the mosquitto.conf `central acl` prints: without it the broker's last PUBACK of a drain waits for the
  // outbox's delayed ACK (40 ms, a third of a drain here), which the bare publisher's burst does not meet.
  const broker = await startBroker({ extraConfig: 'set_tcp_nodelay true' });
  try {
    // The outage: records written with no broker to send them to.
    const journal = new DurableJournal({ dir: join(dir, 'log'), fsync: 'never' });
    await writeBacklog(journal);
    const link = await linkTo(broker.url);
    // Interleaved rounds after a warm-up of each, best of each: the broker, the loopback and the cores are shared,
    // and one drain takes a few tenths of a second, so a single run says more about the machine than the code.
    let ours = Infinity;
    let bare = Infinity;
    let oursCpu = Infinity;
    let bareCpu = Infinity;
    let batches = 0;
    for (let round = 0; round <= ROUNDS; round++) {
      const o = await drainOutbox(
        journal,
        link,
        broker.url,
        join(dir, `cursor-${round}.json`),
        `bench/r1/events${round}`,
      );
      const b = await drainBare(broker.url, o.payloads, `bench/r2/events${round}`);
      batches = o.payloads.length;
      if (round === 0) continue;
      ours = Math.min(ours, o.seconds);
      bare = Math.min(bare, b.seconds);
      oursCpu = Math.min(oursCpu, o.cpuMs);
      bareCpu = Math.min(bareCpu, b.cpuMs);
    }
    await link.close(1000);
    await journal.close();

    const rate = (s: number) => Math.round(RECORDS / s);
    return [
      {
        name: `events backlog drained after an outage (${RECORDS.toLocaleString('en-US')} agent events, outbox defaults)`,
        ours: rate(ours),
        baseline: { name: 'bare mqtt.js publisher, same payloads, QoS 1, all queued at once', value: rate(bare) },
        unit: 'events/s',
        better: 'higher',
        goal: '>= 0.8x the bare publisher',
        met: rate(ours) >= 0.8 * rate(bare),
        notes: [
          `${batches} batches; best of ${ROUNDS} interleaved rounds after a warm-up: outbox ${ours.toFixed(3)} s ` +
            `(max_inflight ${MAX_INFLIGHT}), bare ${bare.toFixed(3)} s; CPU of this process during a drain, least of ` +
            `the rounds: outbox ${Math.round(oursCpu)} ms, bare ${Math.round(bareCpu)} ms`,
        ],
      },
    ];
  } finally {
    await broker.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}
