import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { EVENTS_SCHEMA } from '../central-link/outbox.ts';
import { startBroker, type Broker } from '../test/helpers/mosquitto.ts';
import { startPostgres, type Postgres } from '../test/helpers/postgres.ts';
import { duckdbExtension } from '../test/peers/index.ts';
import type { BenchResult } from './bench.ts';
import { sleep } from '../daemon/util/index.ts';

// Events ingested per second by one and by two `central serve` processes (the built CLI, DuckLake on a real
// PostgreSQL, data in a local dir), beside a bare mqtt.js subscriber counting the same messages in the same
// run. Robots publish batches of journal records as the outbox does (QoS 1); serve is done once every event
// is committed (counted over its fleet API), the bare subscriber once it has received them all.
// BENCH_SMOKE=1 makes it small.
const SMOKE = process.env.BENCH_SMOKE === '1';
const ROBOTS = 10;
// A million: five seconds or so of the bare subscriber's pace, so that the rate is the pace kept and not the last
// commit's wait (200,000 took a second, a third of it the last commit).
const EVENTS = Number(process.env.BENCH_CENTRAL_EVENTS ?? (SMOKE ? 20_000 : 1_000_000));
/** Records per events message: central.outbox.batch_records' default. */
const BATCH = 100;
const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'auraison-edge.js');

/** One robot's events message, records first..last, each as the journal keeps an agent event. */
function batch(robot: string, first: number): string {
  const records = [];
  for (let seq = first; seq < first + BATCH; seq++)
    records.push({
      seq,
      ts: String(1_700_000_000_000_000_000n + BigInt(seq)),
      kind: 'agent_event',
      data: {
        event_id: `e-${robot}-${seq}`,
        run_id: 'r-1',
        kind: 'tool.call',
        payload: { tool: 'navigate_to', n: seq },
      },
    });
  return JSON.stringify({
    schema: EVENTS_SCHEMA,
    robot,
    fleet: 'bench',
    journal_id: `j-${robot}`,
    first_seq: first,
    last_seq: first + BATCH - 1,
    records,
  });
}

/** `auraison-edge central serve` as a user runs it; resolves with its fleet page URL once it said it serves. */
async function startServe(
  dir: string,
  broker: Broker,
  pg: Postgres,
  n: number,
): Promise<{ child: ChildProcess; url: string }> {
  const file = join(dir, `central-${n}.yaml`);
  writeFileSync(
    file,
    [
      'mqtt:',
      `  url: ${broker.url}`,
      '  fleet: bench',
      `  client_id: bench-serve-${n}`,
      // A process stopped for good leaves no session whose share of the messages would wait for it.
      '  session_expiry_s: 0',
      'lakehouse:',
      `  catalog: "postgres:${pg.conninfo}"`,
      `  data_path: "${dir}/lake/"`,
      `  extension_directory: "${dirname(duckdbExtension('ducklake'))}"`,
      'http:',
      '  port: 0',
    ].join('\n'),
  );
  const child = spawn(process.execPath, [BIN, 'central', 'serve', '--config', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, AURAISON_LOG_LEVEL: 'warn' },
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const found = /fleet page (http:\/\/\S+)/.exec(out)?.[1];
      if (found) resolve(found);
    });
    child.once('exit', (code) => reject(new Error(`central serve exited (${code}): ${out}${err}`)));
  });
  return { child, url };
}

async function committed(url: string): Promise<number> {
  const res = await fetch(`${url}/api/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sql: 'SELECT count(*) FROM events' }),
  });
  const body = (await res.json()) as { rows?: unknown[][]; message?: string };
  if (!body.rows) throw new Error(`fleet query failed: ${body.message}`);
  return Number(body.rows[0]![0]);
}

/** Publishes every robot's batches (QoS 1, the robots in parallel); resolves when the broker has them all. */
async function publishAll(robots: MqttClient[], offset: number): Promise<void> {
  const perRobot = EVENTS / ROBOTS / BATCH;
  await Promise.all(
    robots.map(async (client, r) => {
      const robot = `r${r}`;
      for (let b = 0; b < perRobot; b++)
        await client.publishAsync(`auraison/bench/${robot}/events`, batch(robot, offset + b * BATCH + 1), { qos: 1 });
    }),
  );
}

/** A bare mqtt.js subscriber that parses and counts the records; resolves with when it had `total`. */
async function bareCounter(broker: Broker, total: number): Promise<{ done: Promise<number>; client: MqttClient }> {
  const client = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: 'bench-bare', clean: true });
  await client.subscribeAsync('auraison/bench/+/events', { qos: 1 });
  let count = 0;
  const done = new Promise<number>((resolve) =>
    client.on('message', (_topic, payload) => {
      count += (JSON.parse(payload.toString()) as { records: unknown[] }).records.length;
      if (count === total) resolve(performance.now());
    }),
  );
  return { done, client };
}

/** One round: `serves` processes and the bare subscriber take the same EVENTS events; their rates. */
async function round(serves: number, broker: Broker, pg: Postgres, dir: string, offset: number) {
  const started = [];
  for (let i = 0; i < serves; i++) started.push(await startServe(dir, broker, pg, offset + i));
  const before = await committed(started[0]!.url);
  const robots = await Promise.all(
    Array.from({ length: ROBOTS }, (_, r) =>
      mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: `bench-robot-${r}`, clean: true }),
    ),
  );
  const bare = await bareCounter(broker, EVENTS);
  const t0 = performance.now();
  await publishAll(robots, offset * EVENTS);
  const bareAt = await bare.done;
  while ((await committed(started[0]!.url)) < before + EVENTS) await sleep(20);
  const serveAt = performance.now();
  await Promise.all([...robots, bare.client].map((c) => c.endAsync()));
  for (const { child } of started) {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  return { serve: EVENTS / ((serveAt - t0) / 1000), bare: EVENTS / ((bareAt - t0) / 1000) };
}

export async function run(): Promise<BenchResult[]> {
  const broker = await startBroker();
  const pg = await startPostgres();
  const dir = mkdtempSync(join(tmpdir(), 'central-ingest-'));
  try {
    const one = await round(1, broker, pg, dir, 0);
    const two = await round(2, broker, pg, dir, 1);
    const cores = availableParallelism();
    const result = (n: number, r: { serve: number; bare: number }): BenchResult => ({
      name: `central serve: events ingested into DuckLake on PostgreSQL, ${n} process${n > 1 ? 'es' : ''} (${EVENTS} events, ${ROBOTS} robots, ${cores} cores)`,
      ours: Math.round(r.serve),
      baseline: { name: 'bare mqtt.js subscriber counting them', value: Math.round(r.bare) },
      unit: 'events/s',
      better: 'higher',
      ...(n === 1 ? { goal: '>= 0.9x the bare subscriber', met: r.serve >= 0.9 * r.bare } : {}),
    });
    // Two processes against one: what a second adds. It needs cores of its own (with the broker, PostgreSQL and the
    // publishers beside it), so the goal is judged from 4 cores up.
    const scaling: BenchResult = {
      name: `central serve: 2 processes against 1 (${cores} cores)`,
      ours: Math.round(two.serve),
      baseline: { name: 'one process, the run before', value: Math.round(one.serve) },
      unit: 'events/s',
      better: 'higher',
      goal:
        cores >= 4 ? '>= 1.6x one process' : `>= 1.6x one process where the cores allow (${cores} here: not judged)`,
      ...(cores >= 4 ? { met: two.serve >= 1.6 * one.serve } : {}),
    };
    return [result(1, one), result(2, two), scaling];
  } finally {
    await pg.cleanup();
    await broker.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}
