import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { checkCentralServeText } from '../central/config.ts';
import { FleetLake } from '../central/lake.ts';
import { startPostgres } from '../test/helpers/postgres.ts';
import { duckdbExtension } from '../test/peers/index.ts';
import { percentile, type BenchResult } from './bench.ts';

// A fleet query over ROWS rows of odometry-like parquet on DuckLake (catalog on a real PostgreSQL, files
// registered as they are with ducklake_add_data_files, as central serve registers a robot's upload), through
// central serve's lake, beside DuckDB's own read_parquet over the same files. Medians of RUNS runs after a
// warm-up. BENCH_SMOKE=1 makes it small.
const SMOKE = process.env.BENCH_SMOKE === '1';
const ROWS = Number(process.env.BENCH_CENTRAL_QUERY_ROWS ?? (SMOKE ? 1_000_000 : 10_000_000));
const FILES = SMOKE ? 2 : 10;
const ROBOTS = 3;
const RUNS = SMOKE ? 3 : 5;
const QUERY = (from: string) =>
  `SELECT robot, count(*) AS n, avg("pose.x") AS x, max("twist.linear.x") AS vmax FROM ${from} GROUP BY robot ORDER BY robot`;

/** FILES parquet files of ROWS rows in all, three robots' odometry, written by DuckDB. */
async function writeFiles(dir: string): Promise<string[]> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  const per = ROWS / FILES;
  const files: string[] = [];
  for (let i = 0; i < FILES; i++) {
    const file = join(dir, `part-${i}.parquet`);
    await c.run(`COPY (SELECT 'tb' || ((${i * per} + r) % ${ROBOTS}) AS robot,
        1700000000000000000 + (${i * per} + r) * 20000000 AS log_time,
        sin(r / 1000.0) * 5 AS "pose.x", cos(r / 1000.0) * 5 AS "pose.y", (r % 100) / 200.0 AS "twist.linear.x"
      FROM range(${per}) t(r)) TO '${file}' (FORMAT parquet)`);
    files.push(file);
  }
  c.closeSync();
  db.closeSync();
  return files;
}

async function timed(runs: number, query: () => Promise<unknown[][]>): Promise<{ times: number[]; rows: unknown[][] }> {
  const rows = await query(); // warm-up: metadata, the OS cache
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await query();
    times.push((performance.now() - start) / 1000);
  }
  return { times: times.sort((a, b) => a - b), rows };
}

export async function run(): Promise<BenchResult[]> {
  const pg = await startPostgres();
  const dir = mkdtempSync(join(tmpdir(), 'central-query-'));
  mkdirSync(join(dir, 'robots'));
  let lake: FleetLake | undefined;
  try {
    const files = await writeFiles(join(dir, 'robots'));
    const { config, issues } = checkCentralServeText(
      [
        'mqtt:',
        '  url: mqtt://127.0.0.1:1883',
        'lakehouse:',
        `  catalog: "postgres:${pg.conninfo}"`,
        // The registered files lie under the data path, as uploads lie in the bucket: the fleet query reads no other.
        `  data_path: "${dir}/"`,
        `  extension_directory: "${dirname(duckdbExtension('ducklake'))}"`,
      ].join('\n'),
      {},
    );
    if (!config) throw new Error(`central.yaml: ${JSON.stringify(issues)}`);
    lake = await FleetLake.open(config);
    await lake.writer.run(`CREATE TABLE fleet.odom AS SELECT * FROM read_parquet('${files[0]}') LIMIT 0`);
    for (const file of files) await lake.writer.run(`CALL ducklake_add_data_files('fleet', 'odom', '${file}')`);
    const onLake = lake;
    const ours = await timed(RUNS, async () => (await onLake.fleetQuery(QUERY('odom'))).rows);

    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    const bare = await timed(RUNS, async () =>
      (await c.runAndReadAll(QUERY(`read_parquet('${dir}/robots/*.parquet')`))).getRowsJson(),
    );
    c.closeSync();
    db.closeSync();
    // avg sums in parallel, in an order that varies: equal to 9 significant digits is the same answer.
    const rounded = (rows: unknown[][]) =>
      JSON.stringify(rows.map((r) => r.map((v) => (typeof v === 'number' ? Number(v.toPrecision(9)) : v))));
    const same = rounded(ours.rows) === rounded(bare.rows);
    const median = percentile(ours.times, 50);
    return [
      {
        name: `fleet query over ${ROWS.toLocaleString('en')} rows on DuckLake (PostgreSQL catalog, ${FILES} files), GROUP BY robot`,
        ours: median,
        baseline: { name: "DuckDB's read_parquet over the same files", value: percentile(bare.times, 50) },
        unit: 's',
        better: 'lower',
        goal: 'the same rows; time near read_parquet',
        met: same,
        notes: [
          `median of ${RUNS} runs after a warm-up; DuckLake p100 ${ours.times.at(-1)!.toFixed(3)} s, read_parquet p100 ${bare.times.at(-1)!.toFixed(3)} s`,
          ...(same
            ? []
            : [`the rows differ: DuckLake ${JSON.stringify(ours.rows)}, read_parquet ${JSON.stringify(bare.rows)}`]),
        ],
      },
    ];
  } finally {
    await lake?.close();
    await pg.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}
