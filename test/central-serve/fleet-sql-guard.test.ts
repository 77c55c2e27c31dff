import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkCentralServeText } from '../../central/config.ts';
import type { FleetView } from '../../central/fleet-view.ts';
import { fleetHttp, fleetHttpUrl } from '../../central/http.ts';
import { FleetLake } from '../../central/lake.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { tempDir } from '../helpers/cli.ts';
import { startPostgres, type Postgres } from '../helpers/postgres.ts';
import { duckdbExtension } from '../peers/index.ts';

// The operator's fleet SQL against a real lake (DuckLake 1.5.5 on PostgreSQL or a DuckDB file): what a reviewer
// would try past the keyword check is refused, and nothing is written or read.
const cleanups = cleanupStack(afterAll);
const SECRET_TEXT = 'not-for-the-fleet-page';
const KEY_ID = 'AKIAFLEETKEYID';
const SECRET_KEY = 'fleet-secret-access-key';

async function openLake(dir: string, pg: Postgres | undefined): Promise<FleetLake> {
  const { config, issues } = checkCentralServeText(
    [
      'mqtt:',
      '  url: mqtt://127.0.0.1:1883',
      'lakehouse:',
      `  catalog: "${pg ? `postgres:${pg.conninfo}` : `${dir}/fleet.ducklake`}"`,
      `  data_path: "${dir}/lake/"`,
      `  extension_directory: "${dirname(duckdbExtension('ducklake'))}"`,
      // A bucket and its keys: the lake gets httpfs and an S3 secret, which the fleet query must not show.
      'storage:',
      '  endpoint: http://127.0.0.1:9',
      '  bucket: fleet-uploads',
      `  access_key_id: ${KEY_ID}`,
      `  secret_access_key: ${SECRET_KEY}`,
    ].join('\n'),
    {},
  );
  if (!config) throw new Error(`central.yaml: ${JSON.stringify(issues)}`);
  const lake = await FleetLake.open(config);
  cleanups.push(() => lake.close());
  return lake;
}

async function serveLake(lake: FleetLake): Promise<string> {
  const view: FleetView = {
    robots: () => [],
    query: (text) => lake.fleetQuery(text),
    recentEvents: async () => [],
    uploads: () => ({ offered: 0, granted: 0, stored: 0, rejected: 0, bytes_stored: 0 }),
  };
  const app = await fleetHttp(view, { host: '127.0.0.1', port: 0 });
  cleanups.push(() => app.close());
  return fleetHttpUrl(app);
}

async function post(url: string, sql: string): Promise<{ status: number; text: string; message: string }> {
  const res = await fetch(`${url}/api/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sql }),
  });
  const text = await res.text();
  return { status: res.status, text, message: String((JSON.parse(text) as { message?: string }).message) };
}

async function snapshots(lake: FleetLake): Promise<number> {
  return Number((await lake.reader.runAndReadAll(`SELECT count(*) FROM ducklake_snapshots('fleet')`)).getRows()[0]![0]);
}

/** Rows into `odom` (parquet in the data path: more than DuckLake inlines) and a file outside the lake. */
async function fill(lake: FleetLake, dir: string): Promise<string> {
  await lake.writer.run('CREATE TABLE odom AS SELECT range AS seq, range * 0.5 AS x FROM range(50000)');
  await lake.writer.run('INSERT INTO odom SELECT range + 50000, 1.0 FROM range(50000)');
  await lake.writer.run('DELETE FROM odom WHERE seq < 10');
  const secret = join(dir, 'id_rsa');
  writeFileSync(secret, `${SECRET_TEXT}\n`, { mode: 0o644 });
  return secret;
}

describe('the fleet query on a lake with its catalog on PostgreSQL', () => {
  let lake: FleetLake;
  let url: string;
  let dir: string;
  let secret: string;
  beforeAll(async () => {
    const pg = await startPostgres();
    cleanups.push(() => pg.cleanup());
    const tmp = tempDir('fleet-sql-guard-');
    cleanups.push(() => tmp.cleanup());
    dir = tmp.path;
    lake = await openLake(dir, pg);
    secret = await fill(lake, dir);
    url = await serveLake(lake);
  });

  it.each([
    'SELECT count(*), sum(x) FROM odom',
    'DESCRIBE odom',
    'SHOW TABLES',
    'SUMMARIZE odom',
    `SELECT count(*) FROM ducklake_snapshots('fleet')`,
    `SELECT count(*) FROM ducklake_list_files('fleet', 'odom')`,
    'SELECT count(*) FROM __ducklake_metadata_fleet.public.ducklake_snapshot',
  ])('answers %s', async (sql) => {
    const { status, text } = await post(url, sql);
    expect(status, text).toBe(200);
  });

  it.each([
    ['SELECT * FROM read_text($FILE)', /disabled by configuration/],
    ['SELECT * FROM read_csv($FILE)', /disabled by configuration/],
    ['SELECT * FROM read_blob($FILE)', /disabled by configuration/],
    [`SELECT * FROM postgres_query('__ducklake_metadata_fleet', 'SELECT pg_read_file(''$PATH'')')`, /PostgreSQL/],
    [`SELECT * FROM query('SELECT * FROM read_text($$$PATH$$)')`, /query\(\) is refused/],
  ])('does not show a local file: %s', async (template, why) => {
    const sql = template.replaceAll('$FILE', `'${secret}'`).replaceAll('$PATH', secret);
    const { status, message, text } = await post(url, sql);
    expect(status).toBe(400);
    expect(message).toMatch(why);
    expect(text).not.toContain(SECRET_TEXT);
  });

  it.each([
    [`SELECT * FROM ducklake_expire_snapshots('fleet', older_than => now())`, /maintenance, which writes/],
    [`SELECT * FROM ducklake_cleanup_old_files('fleet', cleanup_all => true)`, /maintenance, which writes/],
    [`SELECT * FROM ducklake_merge_adjacent_files('fleet')`, /maintenance, which writes/],
    [`SELECT * FROM ducklake_rewrite_data_files('fleet')`, /maintenance, which writes/],
    [`SELECT * FROM postgres_execute('__ducklake_metadata_fleet', 'DELETE FROM ducklake_snapshot')`, /PostgreSQL/],
  ])('writes nothing: %s', async (sql, why) => {
    const before = await snapshots(lake);
    const { status, message } = await post(url, sql);
    expect(status).toBe(400);
    expect(message).toMatch(why);
    expect(await snapshots(lake)).toBe(before);
  });

  it.each([
    ['SELECT * FROM duckdb_secrets()', /duckdb_secrets is refused/],
    ['SELECT * FROM "duckdb_secrets"()', /duckdb_secrets is refused/],
    [`SELECT * FROM which_secret('s3://fleet-uploads/x', 's3')`, /which_secret is refused/],
    [`SELECT getenv('HOME')`, /getenv is refused/],
    ['SELECT path FROM duckdb_databases()', /duckdb_databases is refused/],
    [`SELECT * FROM query_table('duckdb_databases')`, /query_table\(\) is refused/],
  ])('shows no secret or connection: %s', async (sql, why) => {
    const { status, message, text } = await post(url, sql);
    expect(status).toBe(400);
    expect(message).toMatch(why);
    for (const hidden of [KEY_ID, SECRET_KEY, 'port=']) expect(text).not.toContain(hidden);
  });

  it('holds without the keyword check: its connection cannot write, read files, load, attach or unlock', async () => {
    const before = await snapshots(lake);
    const refused = async (sql: string, why: RegExp) => {
      await expect((await lake.guarded()).runAndReadAll(sql), sql).rejects.toThrow(why);
    };
    await refused('INSERT INTO odom VALUES (1, 1.0)', /read-only/);
    await refused('DELETE FROM odom', /read-only/);
    await refused(`SELECT * FROM ducklake_expire_snapshots('fleet', older_than => now())`, /read-only/);
    await refused(
      `SELECT * FROM postgres_execute('__ducklake_metadata_fleet', 'CREATE TABLE pwn (x int)')`,
      /READ ONLY/,
    );
    await refused(`SELECT * FROM read_text('${secret}')`, /disabled by configuration/);
    await refused(`COPY odom TO '${dir}/copied.csv'`, /disabled|Permission/);
    await refused(`ATTACH '${dir}/other.db' AS other`, /disabled|Permission/);
    // (LOAD of an extension already loaded is a no-op, allowed.)
    await refused(`LOAD '${dir}/other.duckdb_extension'`, /disabled through configuration/);
    await refused('INSTALL spatial', /disabled by configuration/);
    await refused('SET enable_external_access = true', /locked/);
    await refused('SET lock_configuration = false', /locked/);
    await refused('SELECT * FROM duckdb_secrets(redact => false)', /unredacted secrets is disabled/);
    const shown = JSON.stringify(
      (await (await lake.guarded()).runAndReadAll('SELECT * FROM duckdb_secrets()')).getRowsJson(),
    );
    expect(shown).toContain('secret=redacted');
    expect(shown).not.toContain(SECRET_KEY);
    expect(existsSync(join(dir, 'copied.csv'))).toBe(false);
    expect(existsSync(join(dir, 'other.db'))).toBe(false);
    expect(await snapshots(lake)).toBe(before);
    // central's own connections are not the guarded one: they still write.
    await lake.writer.run('INSERT INTO odom VALUES (200000, 2.0)');
    expect((await lake.fleetQuery('SELECT count(*) FROM odom WHERE seq = 200000')).rows).toEqual([['1']]);
  });
});

describe('the fleet query on a lake with its catalog in a DuckDB file', () => {
  it('reads what central just wrote, and refuses local files, secrets and maintenance', async () => {
    const tmp = tempDir('fleet-sql-guard-');
    cleanups.push(() => tmp.cleanup());
    const lake = await openLake(tmp.path, undefined);
    const secret = await fill(lake, tmp.path);
    const url = await serveLake(lake);
    expect((await post(url, 'SELECT count(*) FROM odom')).text).toContain('"rows":[["99990"]]');
    // The writer goes on after the lock-down, and the fleet query sees its commit at once.
    await lake.writer.run('INSERT INTO odom SELECT range + 100000, 3.0 FROM range(20000)');
    expect((await post(url, 'SELECT count(*) FROM odom')).text).toContain('"rows":[["119990"]]');
    const before = await snapshots(lake);
    const read = await post(url, `SELECT * FROM read_text('${secret}')`);
    expect(read.message).toMatch(/disabled by configuration/);
    expect(read.text).not.toContain(SECRET_TEXT);
    expect((await post(url, `SELECT * FROM ducklake_expire_snapshots('fleet', older_than => now())`)).status).toBe(400);
    expect((await post(url, 'SELECT * FROM duckdb_secrets()')).status).toBe(400);
    await expect((await lake.guarded()).runAndReadAll('SET enable_external_access = true')).rejects.toThrow(/locked/);
    expect(await snapshots(lake)).toBe(before);
  });
});
