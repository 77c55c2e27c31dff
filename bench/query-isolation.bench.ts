import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { Value } from 'typebox/value';
import { ControlLoop } from '../daemon/system1/index.ts';
import { Bus, DefinitionsRegistry, MessageCodec } from '../daemon/bus/index.ts';
import { LoopConfig, PolicyConfig, type LoopSettings, type PolicySettings } from '../daemon/config/index.ts';
import { queryLakehouse } from '../daemon/lakehouse/query.ts';
import { QueryProcess } from '../daemon/lakehouse/query-process.ts';
import { spread, type BenchResult } from './bench.ts';
import { emptyLoop } from './empty-loop.ts';

// The 200 Hz control loop (an MLP policy in its worker thread, as in control-loop.bench.ts) and the empty loop beside
// it (the platform's floor, same scheduling), while 32 lakehouse queries are in flight, as the query load of
// stop-under-load.bench.ts puts them: ours in the query process (daemon/lakehouse/query-process.ts), every thread of
// it at QUERY_PRIORITY; then the same loops with the same queries run in this process, as the daemon ran them before;
// then with no queries. The goal is the loop's misses within 1.2x the empty loop's under the load.
// QUERY_BENCH_SECONDS and QUERY_BENCH_RUNS make it longer or shorter.

const SECONDS = Number(process.env.QUERY_BENCH_SECONDS ?? 20);
const RUNS = Number(process.env.QUERY_BENCH_RUNS ?? 3);
const RATE_HZ = 200;
const IN_FLIGHT = 32;
const SQL = 'SELECT sum(range) FROM range(2000000)';
const MODEL = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'test/fixtures/onnx/mjlab_microban/policy.onnx');
const ARRAY = 'std_msgs/msg/Float64MultiArray';

type Where = 'query process' | 'in process' | 'no queries';

interface Run {
  missed: number;
  floorMissed: number;
  stale: number;
  queries: number;
  scheduling: string;
  floorScheduling: string;
}

/** The loop and the empty loop for SECONDS, with IN_FLIGHT queries run `where` until they end. */
async function measure(where: Where, queries: QueryProcess, dataDir: string): Promise<Run> {
  const bus = new Bus();
  const definitions = new DefinitionsRegistry();
  const codec = new MessageCodec(definitions);
  const obs = bus.advertise('/obs', ARRAY, { source: 'bench' });
  const obsBytes = codec.encode(ARRAY, {
    layout: { dim: [], data_offset: 0 },
    data: Float64Array.from({ length: 63 }, (_, i) => Math.sin(i) * 0.3),
  });
  const obsTimer = setInterval(() => obs.publish(obsBytes), 1000 / RATE_HZ);
  const policy = Value.Default(PolicyConfig, {
    model: MODEL,
    inputs: { obs: { sources: [{ topic: '/obs', field: 'data' }] } },
    outputs: { actions: { command: { topic: '/cmd', type: ARRAY } } },
  }) as PolicySettings;
  const loop = Value.Default(LoopConfig, {
    policy: 'mlp',
    rate_hz: RATE_HZ,
    max_observation_age_ms: 100,
  }) as LoopSettings;
  const control = new ControlLoop({
    name: 'bench',
    loop,
    policyName: 'mlp',
    policy,
    bus,
    definitions,
    log: pino({ level: 'silent' }),
  });
  let loading = true;
  let done = 0;
  const query = () => (where === 'query process' ? queries.query(dataDir, SQL) : queryLakehouse(dataDir, SQL));
  const load = Array.from({ length: where === 'no queries' ? 0 : IN_FLIGHT }, async () => {
    while (loading) {
      await query();
      done++;
    }
  });
  try {
    await control.start();
    const floor = await emptyLoop(SECONDS, RATE_HZ, loop);
    const stats = control.stats();
    return {
      missed: stats.missedDeadlines,
      floorMissed: floor.missed,
      stale: stats.staleTicks,
      queries: done,
      scheduling: stats.scheduling,
      floorScheduling: floor.scheduling,
    };
  } finally {
    loading = false;
    await Promise.all(load);
    await control.close();
    clearInterval(obsTimer);
    bus.close();
  }
}

export async function run(): Promise<BenchResult[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-query-isolation-'));
  const queries = new QueryProcess();
  const runs: Record<Where, Run[]> = { 'query process': [], 'in process': [], 'no queries': [] };
  try {
    await queries.query(dataDir, 'SELECT 1'); // the process started before the clock
    for (let i = 0; i < RUNS; i++)
      for (const where of ['query process', 'in process', 'no queries'] as const)
        runs[where].push(await measure(where, queries, dataDir));
  } finally {
    await queries.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const sum = (where: Where, pick: (r: Run) => number) => runs[where].reduce((n, r) => n + pick(r), 0);
  const each = (where: Where, pick: (r: Run) => number) => spread(runs[where].map(pick), 0);
  const ours = sum('query process', (r) => r.missed);
  const floor = sum('query process', (r) => r.floorMissed);
  const before = sum('in process', (r) => r.missed);
  const alone = sum('no queries', (r) => r.missed);
  const seconds = SECONDS * RUNS;
  const first = runs['query process'][0]!;
  const notes = (where: Where) => [
    `${RUNS} runs of ${SECONDS} s, ${IN_FLIGHT} queries in flight (${SQL}) ${where === 'query process' ? `in the query process (${queries.scheduling})` : 'in this process'}: ` +
      `${sum(where, (r) => r.queries)} queries answered, ${sum(where, (r) => r.stale)} stale ticks`,
    `missed per run: loop ${each(where, (r) => r.missed)}; empty loop ${each(where, (r) => r.floorMissed)}`,
    `loop thread ${first.scheduling}, empty loop ${first.floorScheduling}`,
  ];
  return [
    {
      name: `control loop ${RATE_HZ} Hz, ${seconds} s, under query load: missed deadlines`,
      ours,
      baseline: { name: 'the empty loop beside it, same priority, same load: the floor', value: floor },
      unit: 'ticks',
      better: 'lower',
      goal: "<= 1.2x the empty loop's",
      met: ours <= 1.2 * floor,
      notes: notes('query process'),
    },
    {
      name: '  same loops: missed deadlines against the loop with no queries',
      ours,
      baseline: { name: 'no queries: the loop missed', value: alone },
      unit: 'ticks',
      better: 'lower',
      notes: [
        `missed per run with no queries: loop ${each('no queries', (r) => r.missed)}; empty loop ${each('no queries', (r) => r.floorMissed)}`,
      ],
    },
    {
      name: '  same loops, the queries run in the daemon\u2019s process (the design before): missed deadlines',
      ours,
      baseline: { name: 'queries in this process: the loop missed', value: before },
      unit: 'ticks',
      better: 'lower',
      notes: [...notes('in process'), `empty loop beside it missed ${sum('in process', (r) => r.floorMissed)}`],
    },
  ];
}
