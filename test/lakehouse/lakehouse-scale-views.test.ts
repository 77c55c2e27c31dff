import { truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lakehousePaths } from '../../daemon/lakehouse/catalog.ts';
import { queryLakehouse, type QueryOptions } from '../../daemon/lakehouse/query.ts';
import { FIXTURES, runMain, tempDir } from '../helpers/cli.ts';

// A view over parquet files reads every file's footer when it is made, and months of recording are tens
// of thousands of files: a query makes only the views its statement names. Checked by the files the views
// read (the viewsDefined seam) and by a damaged file of another table, which a query that read it warns of.

const work = tempDir('lakehouse-scale-views-');
afterAll(() => work.cleanup());
const dataDir = join(work.path, 'data');
const tables = lakehousePaths(dataDir).tables;
const ODOM = '/test/nav_msgs/odometry';
const IMU = '/test/sensor_msgs/imu';

/** The query's result and the directories (tables) of the parquet files its views read. */
async function run(sql: string, options: QueryOptions = {}) {
  let read: readonly string[] = [];
  const result = await queryLakehouse(dataDir, sql, { ...options, viewsDefined: (files) => void (read = [...files]) });
  const dirs = [...new Set(read.map((f) => f.slice(tables.length + 1).split('/')[0]!))].sort();
  return { result, dirs };
}

let dir: Record<string, string> = {};

beforeAll(async () => {
  const config = join(work.path, 'edge.yaml');
  writeFileSync(config, `data_dir: ${dataDir}\n`);
  const r = await runMain([
    'bag',
    'import',
    join(FIXTURES, 'bags', 'rosbags-rs', 'test_bag_mcap'),
    '--config',
    config,
    '--msgs',
    join(FIXTURES, 'msgs'),
  ]);
  expect(r.code, r.stderr).toBe(0);
  const rows = (
    await queryLakehouse(dataDir, `SELECT topic, table_name FROM projections WHERE topic IN ('${ODOM}', '${IMU}')`)
  ).rows;
  dir = Object.fromEntries(rows.map(([topic, table]) => [String(topic), String(table)]));
}, 30_000);

describe('a query reads only the tables it names', () => {
  it("a query of bags reads no parquet file; one of a topic reads only that topic's", async () => {
    expect((await run('SELECT count(*) FROM bags')).dirs).toEqual([]);
    const odom = await run(`SELECT count(*)::INTEGER FROM "${ODOM}"`);
    expect(odom.dirs).toEqual([dir[ODOM]]);
    expect(odom.result.rows).toEqual([[2]]);
  });

  it('finds the names in CTEs, subqueries, joins, unions, DESCRIBE, and in any case', async () => {
    const cases: [string, string[]][] = [
      [`WITH o AS (SELECT * FROM "${ODOM}") SELECT count(*) FROM o`, [dir[ODOM]!]],
      [
        `SELECT (SELECT count(*) FROM "${IMU}") + (SELECT count(*) FROM bags WHERE segment_id IN (SELECT segment_id FROM "${ODOM}"))`,
        [dir[IMU]!, dir[ODOM]!].sort(),
      ],
      [`SELECT count(*) FROM "${ODOM}" o JOIN MESSAGES m ON m.log_time = o.log_time`, ['messages', dir[ODOM]!].sort()],
      [`SELECT log_time FROM "${ODOM}" UNION ALL SELECT log_time FROM "${IMU}"`, [dir[IMU]!, dir[ODOM]!].sort()],
      [`DESCRIBE "${ODOM}"`, [dir[ODOM]!]],
      ['SELECT count(*) FROM "Messages" WHERE topic IN (SELECT topic FROM projections)', ['messages']],
    ];
    for (const [sql, expected] of cases) {
      const { result, dirs } = await run(sql);
      expect(dirs, sql).toEqual(expected);
      expect(result.rows.length, sql).toBeGreaterThan(0);
    }
  });

  it('a statement that lists the tables sees every one, as before', async () => {
    const all = (await queryLakehouse(dataDir, 'SELECT count(*)::INTEGER FROM projections')).rows[0]![0] as number;
    for (const sql of [
      'SHOW TABLES',
      'SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal',
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'",
    ]) {
      const { result } = await run(sql);
      const names = result.rows.map((r) => String(r[0]));
      expect(names, sql).toContain(ODOM);
      expect(names.filter((n) => n.startsWith('/')).length, sql).toBe(all);
    }
  });

  it("errors still name every table, the topics, DuckDB's guess, and the columns of the table named", async () => {
    await expect(queryLakehouse(dataDir, 'SELECT * FROM nothere')).rejects.toThrow(
      /\nTables: bags, projections, messages, raw_messages, events, "\/.* and \d+ more \(SELECT DISTINCT topic FROM messages\)/,
    );
    await expect(queryLakehouse(dataDir, 'SELECT * FROM "/test/nav_msgs/odometri"')).rejects.toThrow(
      /^no topic \/test\/nav_msgs\/odometri in the lakehouse at .* Did you mean "\/test\/nav_msgs\/odometry"\? Its topics: /,
    );
    await expect(queryLakehouse(dataDir, `SELECT nope FROM "${ODOM}"`)).rejects.toThrow(
      /Columns of "\/test\/nav_msgs\/odometry": .*"pose\.pose\.position\.x"/,
    );
    await expect(queryLakehouse(dataDir, 'SELEC 1')).rejects.toThrow(
      /Tables: bags, projections, messages, raw_messages, events, /,
    );
  });

  it('a damaged file of one topic warns only the queries that read that topic', async () => {
    const { dirs } = await run(`SELECT * FROM "${IMU}"`);
    expect(dirs).toEqual([dir[IMU]]);
    let imuFiles: readonly string[] = [];
    await queryLakehouse(dataDir, `SELECT 1 FROM "${IMU}"`, { viewsDefined: (files) => void (imuFiles = files) });
    for (const f of imuFiles) truncateSync(f, 10);
    const bags = await queryLakehouse(dataDir, `SELECT count(*)::INTEGER FROM bags`);
    expect(bags.warnings).toBeUndefined();
    const odom = await queryLakehouse(dataDir, `SELECT count(*)::INTEGER FROM "${ODOM}"`);
    expect(odom).toMatchObject({ rows: [[2]] });
    expect(odom.warnings).toBeUndefined();
    const imu = await queryLakehouse(dataDir, `SELECT count(*)::INTEGER FROM "${IMU}"`);
    expect(imu.warnings).toContainEqual(expect.stringContaining(`its rows are left out of "${IMU}"`));

    // lerobot export makes only the views of the topics it exports: the damaged /imu file is not read.
    const [[t0, t1]] = (
      await queryLakehouse(dataDir, `SELECT min(log_time)::VARCHAR, max(log_time)::VARCHAR FROM "${ODOM}"`)
    ).rows as [[string, string]];
    const config = join(work.path, 'edge.yaml');
    const feature = `observation.state=${ODOM}:pose.pose.position.x`;
    const exported = await runMain([
      'lerobot',
      'export',
      join(work.path, 'odom-ds'),
      '--config',
      config,
      '--fps',
      '1',
      '--feature',
      feature,
      '--window',
      `${t0},${t1}`,
      '--json',
    ]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stderr).toBe('');
    expect(JSON.parse(exported.stdout)).not.toHaveProperty('warnings.0');
  });
});
