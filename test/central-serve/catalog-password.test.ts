import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CentralServeConfig } from '../../central/config.ts';
import { quoted, redactPasswords, splitPassword } from '../../central/conninfo.ts';
import { FleetLake, sql } from '../../central/lake.ts';
import { startCentralServe } from '../../central/serve.ts';
import type { Logger } from '../../daemon/log.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { deadPort } from '../helpers/closed-port.ts';
import { tempDir } from '../helpers/cli.ts';
import { startBroker, type Broker } from '../helpers/mosquitto.ts';
import { startPostgres, type Postgres } from '../helpers/postgres.ts';
import { waitFor } from '../helpers/wait.ts';
import { eventsPayload, publishQos1, robotClient, serveSettings } from './fixtures.ts';

// The catalog's PostgreSQL password (lakehouse.catalog: "postgres:... password=...") is kept in a DuckDB secret:
// never in the ATTACH string, so not in duckdb_databases(), DuckDB's errors, central's logs or the query's errors.
const cleanups = cleanupStack(afterAll);
const run = promisify(execFile);
const PASSWORD = 'catalog-pw-7f3a q\'"x';
const WRONG = 'wrong-pw-91c2';

/** Runs `sql` with psql as `auraison` over TCP; `-w`: never asks for a password. */
function psql(pg: Postgres, sql: string): Promise<unknown> {
  return run('psql', ['-h', '127.0.0.1', '-p', String(pg.port), '-U', 'auraison', '-d', 'fleet', '-w', '-c', sql]);
}

/** Gives the server's user `auraison` a password and makes TCP connections need it (scram-sha-256). */
async function requirePassword(pg: Postgres): Promise<void> {
  await psql(pg, `ALTER ROLE auraison PASSWORD ${sql(PASSWORD)}`);
  writeFileSync(join(pg.dir, 'data', 'pg_hba.conf'), 'host all all 127.0.0.1/32 scram-sha-256\n');
  await psql(pg, 'SELECT pg_reload_conf()');
  // The reload is asynchronous: wait until a connection without the password is refused.
  await waitFor(
    () =>
      psql(pg, 'SELECT 1').then(
        () => false,
        () => true,
      ),
    'PostgreSQL to ask for a password',
  );
}

function settingsFor(broker: Broker, dir: string, catalog: string): CentralServeConfig {
  const settings = serveSettings({ broker, dir });
  return { ...settings, lakehouse: { ...settings.lakehouse, catalog } };
}

/** A logger that keeps every line's fields and message as JSON. */
function keptLogger(lines: string[]): Logger {
  const keep =
    (level: string) =>
    (fields: unknown, message?: string): void => {
      lines.push(JSON.stringify({ level, fields, message }));
    };
  const logger = { warn: keep('warn'), info: keep('info'), error: keep('error'), debug: keep('debug') };
  return { ...logger, child: () => logger } as unknown as Logger;
}

describe('the catalog password of a lake on PostgreSQL', () => {
  let pg: Postgres;
  let broker: Broker;
  let dir: string;
  beforeAll(async () => {
    pg = await startPostgres();
    cleanups.push(() => pg.cleanup());
    await requirePassword(pg);
    broker = await startBroker();
    cleanups.push(() => broker.cleanup());
    const tmp = tempDir('catalog-password-');
    cleanups.push(() => tmp.cleanup());
    dir = tmp.path;
  });

  it('is in no attached database, option or secret shown, on the writer or the guarded connection', async () => {
    const catalog = `postgres:${pg.conninfo} password=${quoted(PASSWORD)}`;
    const lake = await FleetLake.open(settingsFor(broker, dir, catalog));
    cleanups.push(() => lake.close());
    await lake.writer.run('CREATE TABLE IF NOT EXISTS pw_check AS SELECT 1 AS x');
    expect((await lake.fleetQuery('SELECT count(*) FROM pw_check')).rows).toEqual([['1']]);
    for (const c of [await lake.guarded(), lake.writer]) {
      // Past the keyword check: straight on the connections.
      const databases = await c.runAndReadAll('SELECT database_name, path, options FROM duckdb_databases()');
      const shown = JSON.stringify(databases.getRowsJson());
      expect(shown).toContain(`port=${pg.port}`);
      expect(shown).not.toContain('catalog-pw');
      const secrets = JSON.stringify((await c.runAndReadAll('SELECT * FROM duckdb_secrets()')).getRowsJson());
      expect(secrets).toContain('password=redacted');
      expect(secrets).not.toContain('catalog-pw');
    }
    await expect((await lake.guarded()).runAndReadAll('SELECT * FROM duckdb_secrets(redact => false)')).rejects.toThrow(
      /unredacted secrets is disabled/,
    );
  });

  it('is taken from a postgresql:// URI too', async () => {
    const uri = `postgresql://auraison:${encodeURIComponent(PASSWORD)}@127.0.0.1:${pg.port}/fleet`;
    const lake = await FleetLake.open(settingsFor(broker, dir, `postgres:${uri}`));
    cleanups.push(() => lake.close());
    const shown = JSON.stringify(
      (await (await lake.guarded()).runAndReadAll('SELECT path FROM duckdb_databases()')).getRowsJson(),
    );
    expect(shown).not.toContain('catalog-pw');
    expect((await lake.fleetQuery('SELECT count(*) FROM pw_check')).rows).toEqual([['1']]);
  });

  it('is still taken from PGPASSWORD, as libpq does, when the conninfo gives none', async () => {
    process.env.PGPASSWORD = PASSWORD;
    try {
      const lake = await FleetLake.open(settingsFor(broker, dir, `postgres:${pg.conninfo}`));
      cleanups.push(() => lake.close());
      expect((await lake.fleetQuery('SELECT count(*) FROM pw_check')).rows).toEqual([['1']]);
    } finally {
      delete process.env.PGPASSWORD;
    }
  });

  it('is not in the error of a wrong password, nor of a PostgreSQL that is not there', async () => {
    const wrong = FleetLake.open(settingsFor(broker, dir, `postgres:${pg.conninfo} password=${WRONG}`));
    await expect(wrong).rejects.toThrow(/password authentication failed/);
    expect(((await wrong.catch((e: unknown) => e)) as Error).message).not.toContain(WRONG);
    const port = await deadPort();
    const away = FleetLake.open(
      settingsFor(broker, dir, `postgres:host=127.0.0.1 port=${port} user=auraison dbname=fleet password=${WRONG}`),
    );
    await expect(away).rejects.toThrow(/Connection refused|could not connect/i);
    const error = (await away.catch((e: unknown) => e)) as Error;
    expect(`${error.message}\n${error.stack}`).not.toContain(WRONG);
  });

  it("is not in central serve's log while the catalog cannot be reached", async () => {
    const lines: string[] = [];
    const abort = new AbortController();
    const port = await deadPort();
    const catalog = `postgres:host=127.0.0.1 port=${port} user=auraison dbname=fleet password=${WRONG}`;
    const serving = startCentralServe(settingsFor(broker, dir, catalog), {
      log: keptLogger(lines),
      signal: abort.signal,
    });
    await waitFor(() => lines.some((l) => l.includes('cannot be opened yet')), 'central serve to say why it waits');
    abort.abort();
    await expect(serving).rejects.toThrow(/Connection refused|could not connect/i);
    expect(lines.join('\n')).toContain(`port ${port}`);
    expect(lines.join('\n')).not.toContain(WRONG);
  });

  it('lets central serve ingest events and answer the fleet query', async () => {
    const catalog = `postgres:${pg.conninfo} password=${quoted(PASSWORD)}`;
    const serve = await startCentralServe(settingsFor(broker, dir, catalog), { log: keptLogger([]) });
    cleanups.push(() => serve.close());
    await waitFor(() => serve.intake.connected, 'central serve to connect');
    const robot = await robotClient(broker, 'pw-robot');
    cleanups.push(() => robot.endAsync());
    expect(await publishQos1(robot, 'auraison/lab/r1/events', eventsPayload('r1', 'j1', 1, 20))).toBe(0);
    await waitFor(() => serve.ingest.counts.batches === 1, 'the batch committed');
    expect((await serve.view.query('SELECT count(*) FROM events')).rows).toEqual([['20']]);
  });
});

describe('a conninfo without its password', () => {
  it.each([
    ['host=db user=central password=pw dbname=fleet', 'host=db user=central dbname=fleet', 'pw'],
    [`host=db password = 'p w\\'x\\\\' sslmode=require`, 'host=db sslmode=require', "p w'x\\"],
    ['host=db password=a\\ b', 'host=db', 'a b'],
    ['host=db dbname=fleet', 'host=db dbname=fleet', undefined],
    [
      'postgresql://central:p%40ss@db:5433/fleet?sslmode=require',
      "user='central' host='db' port='5433' dbname='fleet' sslmode='require'",
      'p@ss',
    ],
    ['postgres://central@db/fleet', 'postgres://central@db/fleet', undefined],
    ['postgresql://u:pw@[::1]:5432,h2/fleet', "user='u' host='::1,h2' port='5432,' dbname='fleet'", 'pw'],
  ])('%s', (conninfo, rest, password) => {
    expect(splitPassword(conninfo)).toEqual({ conninfo: rest, password });
  });

  it.each([
    [
      'Unable to connect to Postgres at "host=db password=pw1 user=u"',
      'Unable to connect to Postgres at "host=db password=*** user=u"',
    ],
    [`at "host=db password='p w' user=u"`, 'at "host=db password=*** user=u"'],
    ['at postgresql://u:pw1@db/fleet', 'at postgresql://u:***@db/fleet'],
    ['the password pw1 was refused', 'the password *** was refused'],
  ])('redacts %s', (text, redacted) => {
    expect(redactPasswords(text, ['pw1'])).toBe(redacted);
  });
});
