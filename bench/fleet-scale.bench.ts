import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { EVENTS_SCHEMA } from '../central-link/index.ts';
import {
  CENTRAL_USER,
  fleetBroker,
  fleetLogin,
  robotLink,
  rssMiB,
  startFleetServe,
  type RobotLink,
} from '../test/helpers/fleet-rig.ts';
import { startMinio, type Minio } from '../test/helpers/minio.ts';
import { startPostgres, type Postgres } from '../test/helpers/postgres.ts';
import { percentile, skippedResult, type BenchResult } from './bench.ts';
import { errorText, sleep } from '../daemon/util/index.ts';

// N robots against one `central serve` (the built CLI; DuckLake on PostgreSQL, its data in MinIO), each robot the
// daemon's CentralLink over a DurableJournal of its own, with its own broker login under `central acl`'s ACL, all in
// this process. Each robot appends agent events at RATE a second (a burst every TICK_MS, staggered across robots) for
// SECONDS; the bench polls central's fleet API every POLL_MS for each robot's count of events in the lake. Reported per
// N: events per second from the first append to the last event in the lake, p99 from an event's journal append to the
// poll that first saw it, the broker's and central's peak RSS, and that every event is in the lake exactly once. The
// baseline, measured first on a broker of its own: N bare mqtt.js publishers (the same logins) sending the same
// batches at the same pace, and one bare subscriber (central's login) parsing them.
//   BENCH_FLEET_N=10,100,1000 (the sizes), BENCH_FLEET_RATE (events a second per robot), BENCH_FLEET_SECONDS.
// BENCH_SMOKE=1: N=10 only, 5 s.
const SMOKE = process.env.BENCH_SMOKE === '1';
const SIZES = (process.env.BENCH_FLEET_N ?? (SMOKE ? '10' : '10,100,1000')).split(',').map(Number);
const RATE = Number(process.env.BENCH_FLEET_RATE ?? 20);
const SECONDS = Number(process.env.BENCH_FLEET_SECONDS ?? (SMOKE ? 5 : 20));
const TICK_MS = 500;
const PER_TICK = Math.max(1, Math.round((RATE * TICK_MS) / 1000));
const TICKS = Math.round((SECONDS * 1000) / TICK_MS);
const POLL_MS = 200;
/** The longest the lake may take to hold everything once the robots stopped appending. */
const DRAIN_LIMIT_MS = 300_000;
/** Links and bare clients connect this many at a time: a thousand CONNECTs at once only measure the accept queue. */
const CONNECT_WAVE = 50;

const robotIds = (n: number) => Array.from({ length: n }, (_, i) => `r${String(i).padStart(4, '0')}`);
const event = (robot: string, n: number) => ({
  kind: 'agent_event',
  data: { event_id: `${robot}-${n}`, run_id: 'r-1', kind: 'tool.call', payload: { tool: 'navigate_to', n } },
});

/** Runs `work` on each item, `wave` at a time. */
async function inWaves<T, R>(items: readonly T[], wave: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += wave) out.push(...(await Promise.all(items.slice(i, i + wave).map(work))));
  return out;
}

/** Calls `tick(robot index, tick number)` for each robot every TICK_MS, robots staggered over the period. */
async function paced(n: number, tick: (r: number, t: number) => void): Promise<void> {
  const t0 = performance.now();
  const due = Array.from({ length: n }, (_, r) => (r * TICK_MS) / n);
  const done = new Array<number>(n).fill(0);
  let left = n * TICKS;
  while (left > 0) {
    const now = performance.now() - t0;
    for (let r = 0; r < n; r++)
      while (done[r]! < TICKS && due[r]! + done[r]! * TICK_MS <= now) {
        tick(r, done[r]!);
        done[r]!++;
        left--;
      }
    await sleep(5);
  }
}

interface Figures {
  rate: number;
  latencies: Float64Array;
  brokerPeakMiB: number;
  notes: string[];
}

/** The baseline: bare mqtt.js publishers and a subscriber moving the same batches at the same pace. */
async function bare(fleet: string, n: number): Promise<Figures> {
  const ids = robotIds(n);
  const broker = await fleetBroker(fleet, ids);
  const latencies: number[] = [];
  try {
    const sub = await mqtt.connectAsync(broker.url, {
      protocolVersion: 5,
      clientId: 'bare-central',
      ...fleetLogin(CENTRAL_USER),
    });
    await sub.subscribeAsync(`auraison/${fleet}/+/events`, { qos: 1 });
    const sentAt = new Map<string, number>();
    const total = n * TICKS * PER_TICK;
    let received = 0;
    let lastAt = 0;
    const all = new Promise<void>((resolve) =>
      sub.on('message', (_topic, payload) => {
        const at = performance.now();
        const p = JSON.parse(payload.toString()) as { robot: string; first_seq: number; records: unknown[] };
        const latency = at - sentAt.get(`${p.robot}/${p.first_seq}`)!;
        for (let i = 0; i < p.records.length; i++) latencies.push(latency);
        received += p.records.length;
        lastAt = at;
        if (received >= total) resolve();
      }),
    );
    const robots: MqttClient[] = await inWaves(ids, CONNECT_WAVE, (id) =>
      mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: id, ...fleetLogin(id) }),
    );
    const t0 = performance.now();
    await paced(n, (r, t) => {
      const robot = ids[r]!;
      const first = t * PER_TICK + 1;
      const records = Array.from({ length: PER_TICK }, (_, i) => ({
        seq: first + i,
        ts: String(BigInt(Date.now()) * 1_000_000n),
        ...event(robot, first + i),
      }));
      const payload = JSON.stringify({
        schema: EVENTS_SCHEMA,
        robot,
        fleet,
        journal_id: `j-${robot}`,
        first_seq: first,
        last_seq: first + PER_TICK - 1,
        records,
      });
      sentAt.set(`${robot}/${first}`, performance.now());
      robots[r]!.publish(`auraison/${fleet}/${robot}/events`, payload, { qos: 1 });
    });
    await all;
    const brokerPeakMiB = rssMiB(broker.pid).peak;
    await Promise.all([...robots, sub].map((c) => c.endAsync()));
    return {
      rate: total / ((lastAt - t0) / 1000),
      latencies: Float64Array.from(latencies).sort(),
      brokerPeakMiB,
      notes: [],
    };
  } finally {
    await broker.cleanup();
  }
}

/** Ours: N central links and central serve, the same pace; what reached the lake, when, and what was lost. */
async function fleetRound(fleet: string, n: number, pg: Postgres, minio: Minio | undefined, dir: string) {
  const ids = robotIds(n);
  const broker = await fleetBroker(fleet, ids);
  const serve = await startFleetServe({ dir, broker, fleet, pg, ...(minio ? { minio } : {}) });
  let links: RobotLink[] = [];
  try {
    const up0 = performance.now();
    links = await inWaves(ids, CONNECT_WAVE, (id) =>
      robotLink({ id, fleet, url: broker.url, dataDir: join(dir, fleet, id), fsync: 'never' }),
    );
    while (!links.every((l) => l.online())) {
      if (performance.now() - up0 > DRAIN_LIMIT_MS)
        throw new Error(`${links.filter((l) => !l.online()).length} of ${n} links still offline`);
      await sleep(50);
    }
    const upS = (performance.now() - up0) / 1000;
    const perRobot = TICKS * PER_TICK;
    const appendedAt = ids.map(() => new Float64Array(perRobot + 1));
    const seen = new Array<number>(n).fill(0);
    const latencies: number[] = [];
    let lastSeenAt = 0;
    let polling = true;
    const pollMs: number[] = [];
    // Seqs of one robot reach the lake in order (one connection, one commit queue): its count is a prefix.
    const poller = (async () => {
      while (polling) {
        const asked = performance.now();
        const counts = await serve.counts();
        const at = performance.now();
        pollMs.push(at - asked);
        for (let r = 0; r < n; r++) {
          const visible = Math.min(counts.get(ids[r]!)?.events ?? 0, perRobot);
          for (let seq = seen[r]! + 1; seq <= visible; seq++) latencies.push(at - appendedAt[r]![seq]!);
          if (visible > seen[r]!) lastSeenAt = at;
          seen[r] = visible;
        }
        if (seen.every((s) => s === perRobot)) return;
        await sleep(POLL_MS);
      }
    })();
    const t0 = performance.now();
    await paced(n, (r, t) => {
      const first = t * PER_TICK + 1;
      appendedAt[r]!.fill(performance.now(), first, first + PER_TICK);
      void links[r]!.journal.appendMany(Array.from({ length: PER_TICK }, (_, i) => event(ids[r]!, first + i)));
    });
    const appendedS = (performance.now() - t0) / 1000;
    const deadline = setTimeout(() => (polling = false), DRAIN_LIMIT_MS);
    await poller;
    clearTimeout(deadline);
    const counts = await serve.counts();
    let held = 0;
    let distinct = 0;
    for (const c of counts.values()) [held, distinct] = [held + c.events, distinct + c.distinct];
    const expected = n * perRobot;
    const figures = {
      rate: latencies.length / ((lastSeenAt - t0) / 1000),
      latencies: Float64Array.from(latencies).sort(),
      brokerPeakMiB: rssMiB(broker.pid).peak,
      centralPeakMiB: rssMiB(serve.child.pid!).peak,
      linksMiB: process.memoryUsage().rss / 2 ** 20,
      lost: expected - distinct,
      twice: held - distinct,
      expected,
      notes: [
        `${n} links online in ${upS.toFixed(1)} s; ${expected} events appended over ${appendedS.toFixed(1)} s ` +
          `(offered ${n * RATE} events/s); the lake polled every ${POLL_MS} ms, a poll taking ` +
          `p50 ${percentile(
            pollMs.sort((a, b) => a - b),
            50,
          ).toFixed(0)} ms`,
      ],
    };
    return figures;
  } finally {
    await inWaves(links, CONNECT_WAVE, (l) => l.stop());
    await serve.stop();
    await broker.cleanup();
  }
}

export async function run(): Promise<BenchResult[]> {
  let pg: Postgres;
  try {
    pg = await startPostgres();
  } catch (error) {
    return skippedResult('fleet at scale', 'events/s', errorText(error));
  }
  // MinIO holds the lake's data as it would in a fleet; without it the data goes to a local dir (said in the notes).
  const minio = await startMinio().catch(() => undefined);
  await minio?.createBucket('fleet');
  const dir = mkdtempSync(join(tmpdir(), 'fleet-scale-'));
  const results: BenchResult[] = [];
  try {
    for (const n of SIZES) {
      const fleet = `f${n}`;
      const base = await bare(`${fleet}bare`, n);
      const ours = await fleetRound(fleet, n, pg, minio, dir);
      const where = minio ? 'data in MinIO' : 'data in a local dir (no MinIO here)';
      const p = (l: Float64Array, q: number) => percentile(l, q);
      const intact = ours.lost === 0 && ours.twice === 0;
      results.push(
        {
          name: `fleet of ${n} robot links into one central serve (DuckLake on PostgreSQL, ${where}): events ingested`,
          ours: Math.round(ours.rate),
          baseline: {
            name: 'bare mqtt.js publishers and subscriber, same batches and pace',
            value: Math.round(base.rate),
          },
          unit: 'events/s',
          better: 'higher',
          goal: 'every event once in the lake, >= 0.9x the bare clients',
          met: intact && ours.rate >= 0.9 * base.rate,
          notes: [
            ...ours.notes,
            `lake holds ${ours.expected - ours.lost} of ${ours.expected} events; lost ${ours.lost}, twice ${ours.twice}`,
          ],
        },
        {
          name: `fleet of ${n}: journal append to the fleet lake, p99`,
          ours: Math.round(p(ours.latencies, 99)),
          baseline: {
            name: 'bare publish to bare subscriber, p99',
            value: Math.round(p(base.latencies, 99) * 10) / 10,
          },
          unit: 'ms',
          better: 'lower',
          goal: '< 5 s',
          met: p(ours.latencies, 99) < 5000,
          notes: [
            `ours p50 ${p(ours.latencies, 50).toFixed(0)}, max ${p(ours.latencies, 100).toFixed(0)} ms ` +
              `(within ${POLL_MS} ms of the poll); bare p50 ${p(base.latencies, 50).toFixed(1)} ms`,
          ],
        },
        {
          name: `fleet of ${n}: broker peak RSS`,
          ours: Math.round(ours.brokerPeakMiB),
          baseline: { name: 'the broker under the bare clients', value: Math.round(base.brokerPeakMiB) },
          unit: 'MiB',
          better: 'lower',
          notes: [
            `central serve peak RSS ${ours.centralPeakMiB.toFixed(0)} MiB; the ${n} links' process ${ours.linksMiB.toFixed(0)} MiB`,
          ],
        },
      );
    }
    return results;
  } finally {
    await pg.cleanup();
    await minio?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}
