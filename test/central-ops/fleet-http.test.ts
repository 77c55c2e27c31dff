import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { FLEET_API_ERRORS } from '../../central/http-errors.ts';
import { fleetHttp, fleetHttpUrl } from '../../central/http.ts';
import { ROOT } from '../helpers/cli.ts';
import { FleetDouble } from './fleet-double.ts';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function serve(view: FleetDouble): Promise<string> {
  app = await fleetHttp(view, { host: '127.0.0.1', port: 0 });
  return fleetHttpUrl(app);
}

async function post(url: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('the fleet HTTP API', () => {
  it('lists the robots, the uploads, the lake upkeep and the latest events as the fleet view has them', async () => {
    const view = new FleetDouble();
    view.robotList = [
      {
        fleet: 'lab',
        robot: 'tb1',
        online: true,
        state: 'online',
        last_heartbeat: '2025-01-01T00:00:00.000Z',
        backlog: 3,
      },
      { fleet: 'lab', robot: 'tb2', online: false, state: 'offline', reason: 'connection lost (last will)' },
    ];
    view.counts = { offered: 4, granted: 3, stored: 2, rejected: 1, bytes_stored: 2048 };
    view.events = Array.from({ length: 150 }, (_, i) => ({ robot: 'tb1', seq: 150 - i, kind: 'agent_event' }));
    const url = await serve(view);
    expect(await (await fetch(`${url}/api/robots`)).json()).toEqual({ robots: view.robotList });
    expect(await (await fetch(`${url}/api/uploads`)).json()).toEqual(view.counts);
    view.upkeep = {
      ...view.upkeep,
      runs: 3,
      files_before: 40,
      files_after: 2,
      last_run_at: '2026-11-27T22:00:00.000Z',
    };
    expect(await (await fetch(`${url}/api/maintenance`)).json()).toEqual(view.upkeep);
    const all = (await (await fetch(`${url}/api/events`)).json()) as { events: { seq: number }[] };
    expect(all.events).toHaveLength(100);
    const few = (await (await fetch(`${url}/api/events?limit=5`)).json()) as { events: { seq: number }[] };
    expect(few.events.map((e) => e.seq)).toEqual([150, 149, 148, 147, 146]);
  });

  it('refuses an events limit out of range or an unknown parameter with a 400 that names it', async () => {
    const url = await serve(new FleetDouble());
    for (const query of ['limit=0', 'limit=1001', 'limit=x', 'since=3']) {
      const res = await fetch(`${url}/api/events?${query}`);
      expect(res.status, query).toBe(400);
      expect(((await res.json()) as { message: string }).message, query).toMatch(/limit|since|additional/);
    }
  });

  it('runs a read-only query and gives its columns and rows, BIGINTs and DuckDB values as JSON carries them', async () => {
    const view = new FleetDouble();
    class Timestamp {
      toString() {
        return '2025-01-01 00:00:00';
      }
    }
    view.answer = () => ({
      columns: ['robot', 'n', 'big', 'at', 'blob'],
      rows: [['tb1', 12n, 2n ** 60n, new Timestamp(), new Uint8Array([1, 255])]],
    });
    const url = await serve(view);
    const { status, body } = await post(`${url}/api/query`, {
      sql: 'SELECT robot, count(*) FROM "/odom" GROUP BY robot',
    });
    expect(status).toBe(200);
    expect(body.columns).toEqual(['robot', 'n', 'big', 'at', 'blob']);
    expect(body.rows).toEqual([['tb1', 12, (2n ** 60n).toString(), '2025-01-01 00:00:00', '01ff']]);
    expect(typeof body.elapsed_ms).toBe('number');
  });

  it.each([
    ['DROP TABLE events', /DROP is refused/],
    ['INSERT INTO events VALUES (1)', /INSERT is refused/],
    ['SELECT 1; DELETE FROM events', /one statement at a time/],
    ['WITH t AS (SELECT 1) DELETE FROM events', /DELETE is refused/],
    ["ATTACH 'x.db'", /ATTACH is refused/],
    ["COPY events TO '/tmp/x.csv'", /COPY is refused/],
    ['-- only a comment', /no SQL statement/],
    ['SELECT * FROM duckdb_secrets()', /duckdb_secrets is refused/],
    ['SELECT * FROM "DuckDB_Secrets" ()', /duckdb_secrets is refused/],
    ["SELECT getenv('AWS_SECRET_ACCESS_KEY')", /getenv is refused/],
    ["SELECT * FROM which_secret('s3://b/k', 's3')", /which_secret is refused/],
    ['SELECT path FROM duckdb_databases', /duckdb_databases is refused/],
    ["SELECT * FROM postgres_query('__ducklake_metadata_fleet', 'SELECT 1')", /postgres_query is refused/],
    ["SELECT * FROM query('SELECT * FROM duckdb_secrets()')", /query\(\) is refused/],
    ["SELECT * FROM ducklake_expire_snapshots('fleet', older_than => now())", /DuckLake's maintenance/],
    ["SELECT * FROM fleet.main.ducklake_cleanup_old_files /* x */ ('fleet')", /DuckLake's maintenance/],
  ])('refuses %s with a 400 saying the fleet lakehouse is read-only', async (sql, why) => {
    const view = new FleetDouble();
    const url = await serve(view);
    const { status, body } = await post(`${url}/api/query`, { sql });
    expect(status).toBe(400);
    expect(body.message).toMatch(why);
    expect(view.queries).toEqual([]);
  });

  it.each([
    "SELECT 'drop table x; delete' AS s",
    'SELECT "update" FROM events -- a comment; DROP',
    'WITH t AS (SELECT 1 AS x) SELECT * FROM t;',
    'DESCRIBE events',
    'SHOW TABLES',
    'SUMMARIZE events',
    '/* why */ select 1',
    "SELECT * FROM ducklake_snapshots('fleet')",
    'SELECT query, "query" FROM events',
    'SELECT count(*) FROM __ducklake_metadata_fleet.public.ducklake_snapshot',
  ])('lets %s through', async (sql) => {
    const view = new FleetDouble();
    const url = await serve(view);
    expect((await post(`${url}/api/query`, { sql })).status).toBe(200);
    expect(view.queries).toEqual([sql]);
  });

  it('answers a query the lakehouse cannot run with a 400 and its message', async () => {
    const view = new FleetDouble();
    view.answer = () => {
      throw new Error('Catalog Error: Table with name nope does not exist!');
    };
    const url = await serve(view);
    const { status, body } = await post(`${url}/api/query`, { sql: 'SELECT * FROM nope' });
    expect(status).toBe(400);
    expect(body).toMatchObject({ error: 'query_failed', message: expect.stringMatching(/nope does not exist/) });
  });

  it('serves the fleet page and its assets, and 404s what it does not have', async () => {
    const url = await serve(new FleetDouble());
    const page = await fetch(`${url}/`);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('/page/app.js');
    const script = await fetch(`${url}/page/app.js`);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await fetch(`${url}/page/style.css`)).headers.get('content-type')).toBe('text/css; charset=utf-8');
    for (const answer of [page, script]) {
      expect(answer.headers.get('cache-control')).toBe('no-cache');
      expect(answer.headers.get('content-security-policy')).toBe(
        "default-src 'self'; img-src 'self' data:; style-src 'self'",
      );
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    }
    const missing = await fetch(`${url}/page/nope.js`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: 'not_found', message: 'no page asset nope.js' });
    expect((await fetch(`${url}/page/..%2Fhttp.ts`)).status).toBe(400);
    expect((await fetch(`${url}/api/nothing`)).status).toBe(404);
  });

  it('answers each error with a code docs/central.md lists, with its status', async () => {
    const doc = readFileSync(join(ROOT, 'docs', 'central.md'), 'utf8');
    const statuses = new Map(Object.entries(FLEET_API_ERRORS).map(([code, { status }]) => [code, status]));
    expect(statuses.size).toBeGreaterThan(5); // not vacuous
    for (const [code, status] of statuses)
      expect(doc, code).toMatch(new RegExp(`^\\| \`${code}\` \\| ${status} \\|`, 'm'));
    const view = new FleetDouble();
    view.answer = () => {
      throw new Error('Catalog Error: Table with name nope does not exist!');
    };
    const url = await serve(view);
    const replies = [
      await post(`${url}/api/query`, { sql: 'DELETE FROM events' }),
      await post(`${url}/api/query`, { sql: 'SELECT * FROM nope' }),
      await post(`${url}/api/query`, { nope: 1 }),
      await fetch(`${url}/api/nothing`).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as Record<string, unknown>,
      })),
    ];
    expect(replies.map((r) => [r.body.error, r.status])).toEqual([
      ['read_only', 400],
      ['query_failed', 400],
      ['bad_request', 400],
      ['not_found', 404],
    ]);
    for (const { status, body } of replies) expect(statuses.get(body.error as string)).toBe(status);
  });
});
