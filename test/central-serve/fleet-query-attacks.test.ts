import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../daemon/log.ts';
import { fleetHttp, fleetHttpUrl } from '../../central/http.ts';
import { FleetDouble } from '../central-ops/fleet-double.ts';
import { startCentralServe, type CentralServe } from '../../central/serve.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { countingListener } from '../helpers/counting-listener.ts';
import { tempDir } from '../helpers/cli.ts';
import { startBroker } from '../helpers/mosquitto.ts';
import { startMinio, type Minio } from '../helpers/minio.ts';
import { startPostgres } from '../helpers/postgres.ts';
import { waitFor } from '../helpers/wait.ts';
import { eventsPayload, publishQos1, robotClient, serveSettings } from './fixtures.ts';

// What an operator's SQL sent to `central serve`'s POST /api/query might try, on both catalogs: each is refused
// or harmless, and afterwards the lake's files (or the bucket's objects), its rows, tables, macros and
// snapshots are as they were; a query too big is stopped while central keeps ingesting.
const cleanups = cleanupStack(afterAll);
const SECRET_TEXT = 'not-for-the-fleet-query';

function sha(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Every file under `dir` with its sha256. */
function filesOf(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((e) => e.isFile())
    .map((e) => `${join(e.parentPath, e.name)} ${sha(readFileSync(join(e.parentPath, e.name)))}`)
    .sort();
}

/** Every object of the bucket with its sha256. */
async function objectsOf(minio: Minio, bucket: string): Promise<string[]> {
  const s3 = minio.client();
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  const out: string[] = [];
  for (const { Key } of listed.Contents ?? []) {
    const body = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key }))).Body!.transformToByteArray();
    out.push(`${Key} ${sha(body)}`);
  }
  return out.sort();
}

interface Lake {
  serve: CentralServe;
  url: string;
  /** What an attack must leave as it was. */
  state: () => Promise<unknown>;
  dir: string;
  secret: string;
  /** Publishes robot r1's events first..last, as its outbox would. */
  send: (first: number, last: number) => Promise<number>;
}

/** Columns of rows as text, for comparing whole answers. */
async function rowsOf(serve: CentralServe, sql: string): Promise<string> {
  const read = await serve.lake.reader.runAndReadAll(sql);
  return JSON.stringify(read.getRowsJson());
}

async function startLake(onPostgres: boolean): Promise<Lake> {
  const broker = await startBroker();
  cleanups.push(() => broker.cleanup());
  const tmp = tempDir('fleet-query-attacks-');
  cleanups.push(tmp.cleanup);
  const pg = onPostgres ? await startPostgres() : undefined;
  const minio = onPostgres ? await startMinio() : undefined;
  if (pg) cleanups.push(() => pg.cleanup());
  if (minio) {
    cleanups.push(() => minio.cleanup());
    await minio.createBucket('fleet');
  }
  const settings = serveSettings({ broker, pg, minio, dir: tmp.path });
  const serve = await startCentralServe(
    {
      ...settings,
      http: { ...settings.http, enabled: true, host: '127.0.0.1', port: 0 },
      fleet_query: {
        ...settings.fleet_query,
        timeout_s: 2,
        max_rows: 1000,
        max_bytes: 1024 * 1024,
        memory_limit: '512MB',
        concurrent: 2,
      },
    },
    { log: silentLogger() },
  );
  cleanups.push(() => serve.close());
  await waitFor(() => serve.intake.connected, 'central serve to connect');
  const robot = await robotClient(broker, 'r1-attacks');
  cleanups.push(() => robot.endAsync());
  expect(await publishQos1(robot, 'auraison/lab/r1/events', eventsPayload('r1', 'j1', 1, 100))).toBe(0);
  await waitFor(() => serve.ingest.counts.batches === 1, 'the first events committed');
  await serve.lake.writer.run('CREATE TABLE odom AS SELECT range AS seq, range * 0.5 AS x FROM range(50000)');
  // A stored bag, as an upload leaves it: the object and its row.
  if (minio)
    await minio
      .client()
      .send(new PutObjectCommand({ Bucket: 'fleet', Key: 'lab/r1/bag/b1.mcap', Body: 'the bag bytes' }));
  const secret = join(tmp.path, 'id_rsa');
  writeFileSync(secret, `${SECRET_TEXT}\n`);
  const state = async () => ({
    files: minio ? await objectsOf(minio, 'fleet') : filesOf(join(tmp.path, 'lake-data')),
    events: await rowsOf(serve, 'SELECT count(*), sum(hash(robot, seq, data)) FROM fleet.events'),
    odom: await rowsOf(serve, 'SELECT count(*), sum(x) FROM fleet.odom'),
    tables: await rowsOf(serve, 'SELECT database_name, table_name FROM duckdb_tables() ORDER BY ALL'),
    snapshots: await rowsOf(serve, `SELECT count(*) FROM ducklake_snapshots('fleet')`),
    // A macro or view made on the query's connection would land in its DuckDB: look there.
    macros: JSON.stringify(
      (
        await (
          await serve.lake.guarded()
        ).runAndReadAll(
          `SELECT database_name, function_name FROM duckdb_functions() WHERE NOT internal
           UNION ALL SELECT database_name, view_name FROM duckdb_views() WHERE NOT internal ORDER BY ALL`,
        )
      ).getRowsJson(),
    ),
    settings: JSON.stringify(
      (
        await (
          await serve.lake.guarded()
        ).runAndReadAll(
          `SELECT current_setting('memory_limit'), current_setting('threads'), current_setting('enable_external_access')`,
        )
      ).getRowsJson(),
    ),
  });
  const send = (first: number, last: number) =>
    publishQos1(robot, 'auraison/lab/r1/events', eventsPayload('r1', 'j1', first, last));
  return { serve, url: serve.httpUrl!, state, dir: tmp.path, secret, send };
}

async function post(url: string, sql: string) {
  const res = await fetch(`${url}/api/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sql }),
  });
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) as Record<string, unknown> };
}

/**
 * [SQL, answered]: answered is true for text DuckDB reads as one harmless SELECT (a string that looks like a
 * second statement); everything else is refused. $DIR, $SECRET, $DATA, $HTTP are filled in per lake.
 */
const ATTACKS: [string, boolean][] = [
  // The escapes past the old keyword check: DuckDB ends a comment at \r, and E'\'' is one quote.
  ['SELECT 1 --x\r; DELETE FROM events', false],
  ['SELECT 1 --x\r; DROP TABLE events', false],
  ["SELECT 1 --x\r; COPY (SELECT 'pwn') TO '$DATA'", false],
  ["SELECT E'\\'' AS q; DROP TABLE events; SELECT 'x'", false],
  ["SELECT E'\\'' AS q; COPY (SELECT 'pwn') TO '$DATA'; SELECT 'x'", false],
  ["SELECT e'\\\\\\'' AS q; CREATE MACRO pwn(x) AS x; SELECT 'x'", false],
  ["SELECT $q$ ' $q$; DELETE FROM events; SELECT '$q$'", false],
  ['SELECT 1 /* /* */ ; DROP TABLE events; */', true],
  ["SELECT '''; DROP TABLE events; --' AS s", true],
  ['SELECT "a""; DROP TABLE events; --" FROM events', false],
  ['SELECT \'it\'\'s\' AS s, "odd ""name""" FROM (SELECT 1 AS "odd ""name""")', true],
  // Unicode: look-alike semicolons and line ends that DuckDB does not take as such, and U& escapes it refuses.
  ['SELECT 1\uFF1B DROP TABLE events', false],
  ['SELECT 1 --x\u2028; DROP TABLE events', true],
  ['SELECT 1 --x\u0085; DROP TABLE events', true],
  ['SELECT * FROM U&"duckdb\\005fsecrets"()', false],
  ["SELECT 'ünïcödé 🤖' AS s", true],
  // More than one statement, however split.
  ['SELECT 1; DROP TABLE events', false],
  ['FROM events;\nDELETE FROM events', false],
  ['SELECT 1;;DROP TABLE odom', false],
  // Statements that are not a SELECT.
  ["COPY events TO '$DIR/events.csv'", false],
  ["COPY (SELECT 'pwn') TO '$DATA'", false],
  ["ATTACH '$DIR/other.db' AS other", false],
  ['DETACH fleet', false],
  ['INSTALL spatial', false],
  ["LOAD '$DIR/x.duckdb_extension'", false],
  ["SET memory_limit = '100GB'", false],
  ['SET enable_external_access = true', false],
  ['RESET threads', false],
  ['SET VARIABLE v = 1', false],
  ['PRAGMA enable_profiling', false],
  ['CALL pragma_version()', false],
  ['CREATE MACRO pwn(x) AS x + 1', false],
  ['CREATE TABLE pwn AS SELECT 1', false],
  ['CREATE VIEW pwn AS SELECT 1', false],
  ['DROP TABLE events', false],
  ['DELETE FROM events', false],
  ["UPDATE events SET kind = 'x'", false],
  ['INSERT INTO odom VALUES (1, 1.0)', false],
  ['TRUNCATE odom', false],
  ['ALTER TABLE odom RENAME TO pwn', false],
  ['WITH t AS (SELECT 1) DELETE FROM events', false],
  ['EXPLAIN ANALYZE DELETE FROM events', false],
  ['CHECKPOINT', false],
  ['VACUUM', false],
  ["EXPORT DATABASE '$DIR/export'", false],
  ['BEGIN TRANSACTION', false],
  // Table functions on local paths and remote URLs, DuckLake's maintenance, SQL in a string, secrets.
  ["SELECT * FROM read_text('$SECRET')", false],
  ["SELECT * FROM read_csv('$SECRET')", false],
  ["SELECT * FROM read_parquet('$DIR/*.parquet')", false],
  ["SELECT * FROM glob('/etc/*')", false],
  ["SELECT * FROM read_csv('$HTTP/x.csv')", false],
  ["SELECT * FROM read_parquet('$HTTP/x.parquet')", false],
  ["SELECT * FROM read_text('s3://another-bucket/x')", false],
  ["SELECT * FROM ducklake_expire_snapshots('fleet', older_than => now())", false],
  ["SELECT * FROM ducklake_cleanup_old_files('fleet', cleanup_all => true)", false],
  ["SELECT * FROM query('DROP TABLE events')", false],
  ['SELECT * FROM duckdb_secrets()', false],
];

describe.each([
  ['a DuckDB file, data in a local dir', false],
  ['PostgreSQL, data in MinIO', true],
])('the fleet query with the lake’s catalog in %s', (_name, onPostgres) => {
  let lake: Lake;
  let remote: Awaited<ReturnType<typeof countingListener>>;
  let fill: (sql: string) => string;
  beforeAll(async () => {
    lake = await startLake(onPostgres);
    remote = await countingListener(cleanups);
    // $DATA: a parquet file the lake keeps (or the stored bag): overwriting it is the attack.
    const data = onPostgres
      ? 's3://fleet/lab/r1/bag/b1.mcap'
      : filesOf(join(lake.dir, 'lake-data'))
          .find((f) => f.includes('.parquet'))!
          .split(' ')[0]!;
    fill = (sql) =>
      sql
        .replaceAll('$DIR', lake.dir)
        .replaceAll('$SECRET', lake.secret)
        .replaceAll('$DATA', data)
        .replaceAll('$HTTP', remote.url);
  }, 120_000);

  it.each(ATTACKS)('leaves the lake as it was: %j', async (template, answered) => {
    const before = await lake.state();
    const { status, text } = await post(lake.url, fill(template));
    expect(status, text).toBe(answered ? 200 : 400);
    expect(text).not.toContain(SECRET_TEXT);
    expect(await lake.state()).toEqual(before);
    expect(remote.hits).toEqual([]);
  });

  it('holds without the keyword check: DuckDB parses it, and the transaction it runs in cannot write', async () => {
    const before = await lake.state();
    for (const [template] of ATTACKS) {
      const sql = fill(template);
      await lake.serve.lake.queries.run(sql).catch((error: Error) => {
        expect(error.message, sql).not.toContain(SECRET_TEXT);
      });
    }
    expect(await lake.state()).toEqual(before);
    expect(remote.hits).toEqual([]);
    // The state compared above sees a write when there is one: central's own writer still writes.
    await lake.serve.lake.writer.run('INSERT INTO odom VALUES (1, 1.0)');
    expect(await lake.state()).not.toEqual(before);
  });

  it('cuts an answer at max_rows and says so, and stops a query past timeout_s while central ingests', async () => {
    const cut = await post(lake.url, 'SELECT range, range::VARCHAR FROM range(30000000)');
    expect(cut.status, cut.text).toBe(200);
    expect(cut.body).toMatchObject({ truncated: true });
    expect(cut.body.rows).toHaveLength(1000);
    const whole = await post(lake.url, 'SELECT range FROM range(1000)');
    expect(whole.body).toMatchObject({ truncated: false });
    const wide = await post(lake.url, `SELECT repeat('x', 600000) AS s FROM range(5)`);
    expect(wide.body).toMatchObject({ truncated: true, truncated_by: 'max_bytes' });
    expect(wide.body.rows).toHaveLength(1);

    const slow = [
      post(lake.url, 'SELECT count(*) FROM range(1000000) a, range(1000000) b'),
      post(lake.url, 'WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT count(*) FROM t'),
    ];
    // A third at once is turned away: the two share the query DuckDB's memory_limit.
    await waitFor(() => lake.serve.lake.queries.running === 2, 'both slow queries running');
    const third = await post(lake.url, 'SELECT count(*) FROM range(1000000) a, range(1000000) b');
    expect(third.status, third.text).toBe(503);
    expect(third.body).toMatchObject({ error: 'busy', message: expect.stringMatching(/fleet_query\.concurrent/) });
    // While both run, a robot's events come in and the page's API answers.
    expect(await lake.send(101, 200)).toBe(0);
    expect((await fetch(`${lake.url}/api/robots`)).status).toBe(200);
    const [cross, recursive] = await Promise.all(slow);
    expect(cross!.status, cross!.text).toBe(400);
    expect(cross!.body).toMatchObject({ error: 'timeout', message: expect.stringMatching(/ran past 2 s/) });
    expect(recursive!.status, recursive!.text).toBe(400);
    expect(String(recursive!.body.message)).toMatch(/ran past 2 s|Out of Memory|memory/i);
    await waitFor(
      async () => (await post(lake.url, 'SELECT count(*) FROM events')).text.includes('"200"'),
      'r1 1..200 in the lake',
    );
    expect(lake.serve.ingest.lastError).toBeUndefined();
  });

  it('stops, when told to, while a query runs: the query is interrupted and answered or its connection closed', async () => {
    const running = fetch(`${lake.url}/api/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sql: 'SELECT count(*) FROM range(1000000) a, range(1000000) b' }),
    }).then(
      (res) => res.status,
      () => 'closed',
    );
    await waitFor(() => lake.serve.lake.queries.running === 1, 'the query running');
    await lake.serve.close();
    expect(lake.serve.lake.queries.running).toBe(0);
    expect([400, 500, 503, 'closed']).toContain(await running);
  });
});

describe('the keyword check in front of the fleet query', () => {
  it.each([
    'SELECT 1 --x\r; DROP TABLE events',
    "SELECT E'\\'' AS q; DROP TABLE events; SELECT 'x'",
    "SELECT $q$ ' $q$; DELETE FROM events; SELECT '$q$'",
  ])('ends comments and strings where DuckDB does, so %j never reaches the lake', async (sql) => {
    const view = new FleetDouble();
    const app = await fleetHttp(view, { host: '127.0.0.1', port: 0 });
    cleanups.push(() => app.close());
    const { status, body } = await post(fleetHttpUrl(app), sql);
    expect(status).toBe(400);
    expect(body.message).toMatch(/DROP is refused|DELETE is refused|one statement at a time/);
    expect(view.queries).toEqual([]);
  });

  it.each(["SELECT 'a -- b' AS s, E'c\\' d' AS t -- note\r", 'SELECT 1 /* a /* nested */ DROP */'])(
    'lets %j through',
    async (sql) => {
      const view = new FleetDouble();
      const app = await fleetHttp(view, { host: '127.0.0.1', port: 0 });
      cleanups.push(() => app.close());
      expect((await post(fleetHttpUrl(app), sql)).status).toBe(200);
      expect(view.queries).toEqual([sql]);
    },
  );
});
