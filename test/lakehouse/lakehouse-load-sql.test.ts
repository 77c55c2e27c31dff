import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { importBag } from '../../daemon/lakehouse/importer.ts';
import { tempDir, testConfig } from '../helpers/cli.ts';
import { recordSmallBag } from '../helpers/recorded-bag.ts';

// What an engineer types into `auraison-edge query` on the robot: SQL with a typo, and queries that return
// far more rows than a terminal holds.

const registry = new DefinitionsRegistry();
const work = tempDir('lakehouse-load-sql-');
afterAll(() => work.cleanup());
let config = '';

beforeAll(async () => {
  const dataDir = join(work.path, 'data');
  config = testConfig(work.path, `data_dir: ${dataDir}\n`);
  const { bag } = await recordSmallBag(join(work.path, 'src'), registry, 20);
  await importBag({ path: bag, dataDir, robot: 'r1', registry });
});

/** `auraison-edge query ...` through the CLI's main(), keeping each write to stdout apart. */
async function query(...args: string[]) {
  const { main } = await import('../../daemon/cli/main.ts');
  const writes: string[] = [];
  let stderr = '';
  const code = await main(['query', ...args, '--config', config], {
    stdout: (t) => writes.push(t),
    stderr: (t) => (stderr += t),
    env: process.env,
    cwd: work.path,
  });
  return { code, stdout: writes.join(''), writes: writes.length, stderr };
}

describe('auraison-edge query, SQL with a mistake in it', () => {
  it("an unknown column: DuckDB's error, and every column of the table the query names", async () => {
    const r = await query('SELECT "dta" FROM "/chatter"');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Referenced column "dta" not found');
    expect(r.stderr).toMatch(/\nColumns of "\/chatter": log_time, publish_time, segment_id, data, date, robot\.\n/);
    const m = await query('SELECT topc FROM messages');
    expect(m.stderr).toMatch(
      /\nColumns of messages: segment_id, bag, topic, type, log_time, publish_time, "offset", size, decoded, date, robot\./,
    );
  });

  it("an unknown table or a syntax error: DuckDB's error, and the tables there are", async () => {
    const tables =
      'Tables: bags, projections, messages, raw_messages, events, "/chatter". A topic is named in double quotes ("/odom"); DESCRIBE "/odom" lists its columns.';
    const unknown = await query('SELECT * FROM chatter');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('Table with name chatter does not exist');
    expect(unknown.stderr).toContain(tables);
    const syntax = await query('SELEC count(*) FROM messages');
    expect(syntax.code).toBe(1);
    expect(syntax.stderr).toMatch(/^auraison-edge query: Parser Error: syntax error at or near "SELEC"/);
    expect(syntax.stderr).toContain(tables);
  });
});

describe('auraison-edge query, results of any size', () => {
  it('prints rows as they are read (CSV, JSON and the table), never the whole result at once', async () => {
    // the table layout's column widths once took Math.max(...every row): past ~125,000 rows, a stack overflow
    const rows = 160_000;
    const table = await query(`SELECT i, i * 2 AS j FROM range(${rows}) t(i)`, '--max-rows', String(rows));
    expect(table.code).toBe(0);
    expect(table.stderr).toBe('');
    expect(table.stdout.endsWith(`\n(${rows} rows)\n`)).toBe(true);
    expect(table.stdout.split('\n')).toHaveLength(rows + 4); // header, rule, rows, count, and the last newline
    expect(table.writes).toBeGreaterThan(1);
    const csv = await query(`SELECT i FROM range(${rows}) t(i)`, '--csv', '--max-rows', String(rows));
    expect(csv.stdout.split('\n')).toHaveLength(rows + 2);
    expect(csv.writes).toBeGreaterThan(1);
    const json = await query(`SELECT i FROM range(${rows}) t(i)`, '--json', '--max-rows', String(rows));
    const parsed = JSON.parse(json.stdout) as { rows: unknown[][]; truncated: boolean };
    expect(parsed.rows).toHaveLength(rows);
    expect(parsed.truncated).toBe(false);
    expect(json.writes).toBeGreaterThan(1);
  });

  it('a result cut at --max-rows says so on stderr in CSV and JSON too, and how to get the rest', async () => {
    for (const format of ['--csv', '--json']) {
      const r = await query('SELECT i FROM range(50) t(i)', format, '--max-rows', '10');
      expect(r.code).toBe(0);
      expect(r.stderr).toBe(
        'auraison-edge query: warning: the result stops at 10 rows (--max-rows, default lakehouse.query_max_rows) and holds more: give --max-rows N, or narrow it down (WHERE, LIMIT, GROUP BY)\n',
      );
    }
    const exact = await query('SELECT i FROM range(10) t(i)', '--csv', '--max-rows', '10');
    expect(exact.stderr).toBe(''); // all of it fitted
  });
});

describe('auraison-edge query, a query that runs too long', () => {
  it('is stopped at lakehouse.query_timeout_ms, and says which setting that is', async () => {
    const { main } = await import('../../daemon/cli/main.ts');
    mkdirSync(join(work.path, 'short'));
    const short = testConfig(
      join(work.path, 'short'),
      `data_dir: ${join(work.path, 'data')}\nlakehouse:\n  query_timeout_ms: 1\n`,
    );
    let stderr = '';
    const code = await main(['query', 'SELECT count(*) FROM range(100000000000)', '--config', short], {
      stdout: () => undefined,
      stderr: (t) => (stderr += t),
      env: process.env,
      cwd: work.path,
    });
    expect(code).toBe(1);
    expect(stderr).toBe(
      'auraison-edge query: the query ran past 1 ms and was stopped (lakehouse.query_timeout_ms, 1 ms in this config, sets how long a query may run; rows count too as they are printed)\n',
    );
  });
});
