import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { checkCentralServeText } from '../central/config.ts';
import { FleetLake } from '../central/lake.ts';
import { duckdbExtension } from '../test/peers/index.ts';
import { percentile, type BenchResult } from './bench.ts';

// The fleet query's guard and limits (central/fleet-query.ts) on a lake with its catalog in a
// DuckDB file: what one small query pays for DuckDB's parse, the READ ONLY transaction and its own connection,
// beside the same query on a bare connection; how long the 30M-row query that killed central takes to answer
// cut at max_rows, and central's RSS after it, beside the first 10,000 rows read by a bare DuckDB; how long a
// cross join takes to be stopped at timeout_s, beside timeout_s. BENCH_SMOKE=1 runs fewer.
const SMOKE = process.env.BENCH_SMOKE === '1';
const RUNS = SMOKE ? 20 : 200;
const TIMEOUT_S = 1;
const SMALL = 'SELECT count(*), avg(x) FROM odom';
const HUGE = 'SELECT range, range::VARCHAR FROM range(30000000)';

async function timed(runs: number, work: () => Promise<unknown>): Promise<number[]> {
  await work(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await work();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b);
}

export async function run(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'fleet-query-limits-'));
  let lake: FleetLake | undefined;
  try {
    const { config, issues } = checkCentralServeText(
      [
        'mqtt:',
        '  url: mqtt://127.0.0.1:1883',
        'lakehouse:',
        `  catalog: "${dir}/fleet.ducklake"`,
        `  data_path: "${dir}/lake/"`,
        `  extension_directory: "${dirname(duckdbExtension('ducklake'))}"`,
        'fleet_query:',
        `  timeout_s: ${TIMEOUT_S}`,
      ].join('\n'),
      {},
    );
    if (!config) throw new Error(`central.yaml: ${JSON.stringify(issues)}`);
    lake = await FleetLake.open(config);
    await lake.writer.run('CREATE TABLE odom AS SELECT range AS seq, range * 0.5 AS x FROM range(100000)');
    const onLake = lake;
    const guarded = await timed(RUNS, () => onLake.fleetQuery(SMALL));
    const bare = await timed(RUNS, async () => (await onLake.reader.runAndReadAll(SMALL)).getRowsJson());

    const rssBefore = process.memoryUsage().rss;
    const huge = await timed(SMOKE ? 2 : 5, () => onLake.fleetQuery(HUGE));
    const rssAfter = process.memoryUsage().rss;
    const answer = await onLake.fleetQuery(HUGE);
    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    const firstRows = await timed(SMOKE ? 2 : 5, async () =>
      (await c.runAndReadAll(`${HUGE} LIMIT ${answer.rows.length}`)).getRowsJson(),
    );
    c.closeSync();
    db.closeSync();

    const stopped = await timed(SMOKE ? 1 : 3, () =>
      onLake.fleetQuery('SELECT count(*) FROM range(1000000) a, range(1000000) b').catch((error: Error) => error),
    );

    const median = (times: number[]) => percentile(times, 50);
    return [
      {
        name: 'fleet query guard per query (DuckDB parse, READ ONLY transaction, own connection), small aggregate',
        ours: median(guarded),
        baseline: { name: 'the same query on a bare connection', value: median(bare) },
        unit: 'ms',
        better: 'lower',
        goal: 'a few ms at most',
        met: median(guarded) - median(bare) < 5,
        notes: [
          `median of ${RUNS}; p99 ${percentile(guarded, 99).toFixed(2)} ms vs ${percentile(bare, 99).toFixed(2)} ms`,
        ],
      },
      {
        name: `${HUGE}, answered cut at max_rows (${answer.rows.length} rows, truncated ${String(answer.truncated)})`,
        ours: median(huge),
        baseline: { name: `a bare DuckDB reading its first ${answer.rows.length} rows`, value: median(firstRows) },
        unit: 'ms',
        better: 'lower',
        goal: 'answered, central stays up',
        met: answer.truncated && answer.rows.length === config.fleet_query.max_rows,
        notes: [
          `central's RSS ${(rssBefore / 1e6).toFixed(0)} MB before, ${(rssAfter / 1e6).toFixed(0)} MB after the runs`,
        ],
      },
      {
        name: `a cross join of 10^12 rows, stopped at fleet_query.timeout_s = ${TIMEOUT_S} s`,
        ours: median(stopped),
        baseline: { name: 'timeout_s', value: TIMEOUT_S * 1000 },
        unit: 'ms',
        better: 'lower',
        goal: 'answered with an error soon after timeout_s',
        met: median(stopped) < TIMEOUT_S * 1000 * 1.5,
      },
    ];
  } finally {
    await lake?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
