import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { CentralServeConfig } from './config.ts';
import { redactPasswords, splitPassword } from './conninfo.ts';
import { FleetQueryRunner, type FleetQueryAnswer } from './fleet-query.ts';
import {
  CATALOG_SECRET,
  catalogSecret,
  ident,
  loadExtension,
  lockDown,
  queryKeys,
  s3Secret,
  sql,
} from './lake-duckdb.ts';
import { trackConnection, type TrackedConnection } from 'auraison-edge/lakehouse';
import { CatalogSnapshots } from './query-snapshot.ts';
import { readOnlyProblem } from './read-only-sql.ts';
import { errorText, sleep } from 'auraison-edge/util';

/** The DuckLake catalog attached under this name: fleet SQL reads `fleet.<table>` or, after USE, `<table>`. */
export const LAKE = 'fleet';

/** DuckDB's extensions the lake needs, by their file names (`<name>.duckdb_extension`). */
const EXTENSIONS = { ducklake: 'ducklake', postgres: 'postgres_scanner', httpfs: 'httpfs' } as const;

/** Tables central serve keeps in the lake itself (tables uploaded from robots get their own names). */
const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS events (fleet VARCHAR, robot VARCHAR, journal_id VARCHAR, seq BIGINT, ts_ns BIGINT,
     kind VARCHAR, data VARCHAR, omitted VARCHAR, received_at TIMESTAMPTZ)`,
  // Per robot journal: the seqs committed (or reported lost), as [[from, to], ...]; see events-ingest.ts.
  'CREATE TABLE IF NOT EXISTS event_cursors (robot VARCHAR, journal_id VARCHAR, ranges VARCHAR)',
  // One row every ingest transaction updates: two concurrent commits always conflict, one retries.
  'CREATE TABLE IF NOT EXISTS ingest_fence (n BIGINT)',
  `CREATE TABLE IF NOT EXISTS lost_ranges (fleet VARCHAR, robot VARCHAR, journal_id VARCHAR, from_seq BIGINT,
     to_seq BIGINT, reported_at TIMESTAMPTZ)`,
  `CREATE TABLE IF NOT EXISTS bags (fleet VARCHAR, robot VARCHAR, bag VARCHAR, segment_id VARCHAR, topics VARCHAR[],
     start_ns BIGINT, end_ns BIGINT, object_key VARCHAR, sha256 VARCHAR, size BIGINT, stored_at TIMESTAMPTZ)`,
  `CREATE TABLE IF NOT EXISTS lost_files (fleet VARCHAR, robot VARCHAR, file_id VARCHAR, path VARCHAR, size BIGINT,
     reason VARCHAR, reported_at TIMESTAMPTZ)`,
  // Granted offers, so that any serve process can check and register the upload's `complete`.
  `CREATE TABLE IF NOT EXISTS offers (file_id VARCHAR, robot VARCHAR, kind VARCHAR, object_key VARCHAR, offer VARCHAR,
     offered_at TIMESTAMPTZ)`,
  `CREATE TABLE IF NOT EXISTS registered_files (object_key VARCHAR, lake_table VARCHAR, robot VARCHAR,
     sha256 VARCHAR, size BIGINT, registered_at TIMESTAMPTZ)`,
];

/** The most cursor rows one commit writes into the catalog's tables (beyond, a parquet file): robot journals. */
const CURSOR_INLINING_ROWS = 100_000;

/** The writer's temp tables an ingest commit stages its events in (events-ingest.ts). */
const STAGING = [
  'staged_batches (batch INTEGER, fleet VARCHAR, robot VARCHAR, journal_id VARCHAR, received_at VARCHAR)',
  'staged_events (batch INTEGER, seq BIGINT, ts_ns BIGINT, kind VARCHAR, data VARCHAR, omitted VARCHAR)',
  'staged_keep (batch INTEGER, from_seq BIGINT, to_seq BIGINT)',
  'staged_cursors (robot VARCHAR, journal_id VARCHAR, ranges VARCHAR)',
];

/** DuckLake's word for two writers whose commits clash: the later one is tried again. */
export function isConflict(error: unknown): boolean {
  return /conflict/i.test(errorText(error));
}

/**
 * The fleet lakehouse: DuckDB with DuckLake attached as `fleet`, its catalog on PostgreSQL (or a local DuckDB
 * file), its data on S3 (httpfs and a secret from the storage keys) or a local dir. One connection writes
 * (events, registrations; one transaction at a time), another reads for central itself, and the operator's
 * fleet SQL (the page, the CLI) runs in a DuckDB of its own, never central's: on PostgreSQL with the lake
 * attached READ_ONLY; with a DuckDB file catalog, on a copy of the file taken between commits, attached
 * READ_ONLY (query-snapshot.ts). That DuckDB reads S3 with fleet_query's read-only key when one is given, and is
 * locked down (lockDown): no file outside the lake's data and the uploads' bucket, no secret shown, fleet_query's
 * memory_limit and threads, no setting changed. Each fleet query runs on a connection of its own in a READ ONLY
 * transaction (fleet-query.ts). The catalog going away (PostgreSQL restarted) fails statements; DuckDB's
 * postgres extension connects again by itself, so callers retry.
 */
export class FleetLake {
  readonly #db: DuckDBInstance;
  readonly #query: QueryDb;
  /** Connections guarded() handed out, closed with the lake. */
  readonly #lent: (() => void)[] = [];
  readonly #writer: TrackedConnection;
  readonly #reader: TrackedConnection;
  /** The writer's connection (events, registrations), one transaction at a time: through transaction(). */
  readonly writer: DuckDBConnection;
  /** Central's own reads. A statement started once close() has begun is refused ("... is closed"). */
  readonly reader: DuckDBConnection;
  readonly description: string;
  /** The fleet query's runner alone, without the keyword check in front of it (fleetQuery): it holds by itself. */
  readonly queries: FleetQueryRunner;
  #writing: Promise<unknown> = Promise.resolve();
  #closing: Promise<void> | undefined;

  private constructor(
    db: DuckDBInstance,
    connections: { writer: DuckDBConnection; reader: DuckDBConnection },
    query: (lake: FleetLake) => QueryDb,
    description: string,
    /** The catalog's password, which no error of fleetQuery may show. */
    password: string | undefined,
    limits: CentralServeConfig['fleet_query'],
  ) {
    this.#db = db;
    // HTTP and MQTT handlers may still run a statement on these when central stops: close() waits for them.
    this.#writer = trackConnection(connections.writer, 'the fleet lake (its writer)');
    this.#reader = trackConnection(connections.reader, 'the fleet lake (its reader)');
    this.writer = this.#writer.connection;
    this.reader = this.#reader.connection;
    this.description = description;
    this.#query = query(this);
    this.queries = new FleetQueryRunner({
      connect: async () => {
        const opened = await this.#query.connect();
        try {
          await opened.connection.run(`USE ${LAKE}`);
        } catch (error) {
          opened.release();
          throw error;
        }
        return opened;
      },
      limits: {
        timeoutMs: limits.timeout_s * 1000,
        maxRows: limits.max_rows,
        maxBytes: limits.max_bytes,
        concurrent: limits.concurrent,
      },
      redact: (message) => redactPasswords(message, [password]),
    });
  }

  /**
   * Opens the lake. Its errors (the catalog away, a wrong password) never carry the catalog's password: it is
   * not in what DuckDB is given but a secret, and their messages are redacted besides.
   */
  static async open(settings: CentralServeConfig): Promise<FleetLake> {
    try {
      return await FleetLake.#open(settings);
    } catch (error) {
      throw withoutPassword(error, catalogPassword(settings));
    }
  }

  static async #open(settings: CentralServeConfig): Promise<FleetLake> {
    const { lakehouse, storage } = settings;
    const db = await DuckDBInstance.create(':memory:');
    const writer = await db.connect();
    const onPostgres = lakehouse.catalog.startsWith('postgres:');
    const onS3 = lakehouse.data_path.startsWith('s3://');
    // Uploaded parquet is registered where it lies, on the storage: DuckDB reads it there too.
    const s3 = onS3 || storage.bucket !== '';
    const needed = [
      EXTENSIONS.ducklake,
      ...(onPostgres ? [EXTENSIONS.postgres] : []),
      ...(s3 ? [EXTENSIONS.httpfs] : []),
    ];
    const prepare = async (c: DuckDBConnection, keys = storage) => {
      for (const name of needed) await loadExtension(c, name, lakehouse.extension_directory);
      if (s3) await c.run(s3Secret(keys));
    };
    await prepare(writer);
    const dataPath = onS3 ? lakehouse.data_path : `${resolve(lakehouse.data_path)}/`;
    if (!onS3) mkdirSync(dataPath, { recursive: true });
    // The catalog's password goes in a secret, never in the ATTACH string: duckdb_databases() and DuckDB's
    // errors show that string, and the secret shows `password=redacted`.
    const { conninfo, password } = onPostgres
      ? splitPassword(lakehouse.catalog.slice('postgres:'.length))
      : { conninfo: '', password: undefined };
    const catalog = onPostgres ? `postgres:${conninfo}` : resolve(lakehouse.catalog);
    const attach = [
      `ATTACH ${sql(`ducklake:${catalog}`)} AS ${LAKE} (DATA_PATH ${sql(dataPath)}`,
      ...(password === undefined ? [] : [`METADATA_PARAMETERS MAP {'SECRET': ${sql(CATALOG_SECRET)}}`]),
    ].join(', ');
    if (password !== undefined) await writer.run(catalogSecret(password));
    await writer.run(`${attach})`);
    await writer.run(`USE ${LAKE}`);
    // One commit's events are appended here (in memory, this connection's) before its transaction, each payload's
    // header once in staged_batches, then inserted in one statement with the seqs the commit keeps (events-ingest.ts).
    for (const table of STAGING) await writer.run(`CREATE TEMP TABLE ${table}`);
    for (const statement of SCHEMA) await retryConflicts(() => writer.run(statement));
    // Every ingest commit rewrites the cursors of the robot journals in it: kept in the catalog's own tables
    // (DuckLake's data inlining) rather than a parquet file and its delete files a commit, whatever the fleet's size.
    await retryConflicts(() =>
      writer.run(
        `CALL ${LAKE}.set_option('data_inlining_row_limit', ${CURSOR_INLINING_ROWS}, table_name => 'event_cursors')`,
      ),
    );
    // The fence's one row, updated by every commit, kept there too: no parquet file and delete file a commit.
    await retryConflicts(() =>
      writer.run(`CALL ${LAKE}.set_option('data_inlining_row_limit', 10, table_name => 'ingest_fence')`),
    );
    await retryConflicts(async () => {
      const fence = await writer.runAndReadAll('SELECT count(*) FROM ingest_fence');
      if (Number(fence.getRows()[0]![0]) === 0) await writer.run('INSERT INTO ingest_fence VALUES (0)');
    });
    const reader = await db.connect();
    await reader.run(`USE ${LAKE}`);
    // Registered uploads lie in the bucket, where they were stored: the lake's tables read them there.
    const readable = {
      directories: [dataPath, ...(storage.bucket !== '' ? [`s3://${storage.bucket}/`] : [])],
      files: onPostgres ? [] : [catalog, `${catalog}.wal`],
    };
    // The query's own DuckDB: what it loads, the keys it reads S3 with, the lake attached READ_ONLY, locked down.
    const queryDb = async (catalogFile: string, files: string[]): Promise<DuckDBInstance> => {
      const qdb = await DuckDBInstance.create(':memory:');
      const c = await qdb.connect();
      try {
        await prepare(c, queryKeys(settings));
        if (password !== undefined) await c.run(catalogSecret(password));
        const own = attach.replace(sql(`ducklake:${catalog}`), sql(`ducklake:${catalogFile}`));
        await c.run(`${own}, READ_ONLY)`);
        await lockDown(c, { ...readable, files }, settings.fleet_query);
        return qdb;
      } catch (error) {
        qdb.closeSync();
        throw error;
      } finally {
        c.closeSync();
      }
    };
    let query: (lake: FleetLake) => QueryDb;
    if (onPostgres) {
      const qdb = await queryDb(catalog, []);
      query = () => ({
        connect: async () => {
          const connection = await qdb.connect();
          return { connection, release: () => connection.closeSync() };
        },
        close: () => qdb.closeSync(),
      });
    } else {
      // Everything this DuckDB loads, attaches and writes is in place: the writer goes on within `readable`.
      await lockDown(writer, readable, settings.fleet_query);
      query = (lake) =>
        new CatalogSnapshots({
          catalog,
          open: (file) => queryDb(file, [file, `${file}.wal`]),
          quiet: (work) => lake.#quiet(work),
          checkpoint: () => writer.run(`CHECKPOINT __ducklake_metadata_${LAKE}`).then(() => undefined),
        });
    }
    const description = `DuckLake on ${onPostgres ? 'PostgreSQL' : catalog}, data in ${dataPath}`;
    return new FleetLake(db, { writer, reader }, query, description, password, settings.fleet_query);
  }

  /**
   * A connection of the query's DuckDB (read-only attach, locked down), as the next fleet query would get it, for
   * central's checks of it; closed with the lake.
   */
  async guarded(): Promise<DuckDBConnection> {
    const { connection, release } = await this.#query.connect();
    this.#lent.push(release);
    await connection.run(`USE ${LAKE}`);
    return connection;
  }

  /** Copies of the catalog file the fleet query has made (a DuckDB file catalog; 0 on PostgreSQL). */
  get snapshotsMade(): number {
    return this.#query instanceof CatalogSnapshots ? this.#query.made : 0;
  }

  /** Runs `work` between the writer's transactions (a copy of the catalog file is of committed state only). */
  #quiet<T>(work: () => Promise<T>): Promise<T> {
    const run = (): Promise<T> => work();
    const next = this.#writing.then(run, run);
    this.#writing = next.catch(() => undefined);
    return next;
  }

  /**
   * Runs `work` on the writer connection between its transactions, in autocommit: what it writes to the temp tables
   * outlives a transaction's rollback (an ingest commit run again after a conflict finds its events staged).
   */
  between<T>(work: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    if (this.#closing) return Promise.reject(new Error('the fleet lake is closed'));
    return this.#quiet(() => work(this.writer));
  }

  /**
   * Runs `work` in one transaction on the writer connection, one at a time: BEGIN, work, COMMIT; on any
   * error a ROLLBACK, and the error goes to the caller.
   */
  transaction<T>(work: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    if (this.#closing) return Promise.reject(new Error('the fleet lake is closed'));
    const run = async (): Promise<T> => {
      await this.writer.run('BEGIN TRANSACTION');
      try {
        const out = await work(this.writer);
        await this.writer.run('COMMIT');
        return out;
      } catch (error) {
        await this.writer.run('ROLLBACK').catch(() => undefined);
        throw error;
      }
    };
    const next = this.#writing.then(run, run);
    this.#writing = next.catch(() => undefined);
    return next;
  }

  /** Central's own SQL on the reader connection: columns and rows, values as JSON can carry them. */
  async query(text: string): Promise<{ columns: string[]; rows: unknown[][] }> {
    return rowsOf(this.reader, text);
  }

  /**
   * The operator's fleet SQL (the page's POST /api/query, `central query`): refused when it is not one
   * read-only statement (read-only-sql.ts, the clear answer), then run on the guarded connection, which
   * cannot write the lake, read other files or show secrets whatever the statement says.
   */
  async fleetQuery(text: string): Promise<FleetQueryAnswer> {
    const problem = readOnlyProblem(text);
    if (problem) throw new Error(problem);
    return this.queries.run(text);
  }

  /**
   * Closes the lake once nothing runs on it: the fleet queries are interrupted and answered, central's own reads
   * interrupted, and the writer's transactions (an ingest, an upload's registration) end as they would. A statement
   * asked for meanwhile is refused. (DuckDB's Node bindings free a connection at once: a statement still running
   * on it would crash the process.)
   */
  close(): Promise<void> {
    return (this.#closing ??= (async () => {
      // The reader refuses from now on; the writer once the transactions queued before now are done.
      const reader = this.#reader.close({ interrupt: true });
      await this.queries.close();
      for (const release of this.#lent.splice(0)) release();
      this.#query.close();
      await Promise.all([reader, this.#writing.then(() => this.#writer.close())]);
      this.#db.closeSync();
    })());
  }
}

/** The fleet query's DuckDB: a connection for each query, released after it. */
interface QueryDb {
  connect(): Promise<{ connection: DuckDBConnection; release: () => void }>;
  close(): void;
}

async function rowsOf(c: DuckDBConnection, text: string): Promise<{ columns: string[]; rows: unknown[][] }> {
  const result = await c.runAndReadAll(text);
  return { columns: result.columnNames(), rows: result.getRowsJson() as unknown[][] };
}

/** Retries `work` while DuckLake says it conflicted with another writer (a schema made by two processes at once). */
async function retryConflicts<T>(work: () => Promise<T>, tries = 20): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await work();
    } catch (error) {
      if (!isConflict(error) || i >= tries) throw error;
      await sleep(20 + Math.random() * 50 * (i + 1));
    }
  }
}

/** The password lakehouse.catalog gives (postgres: only), to be kept out of errors. */
function catalogPassword(settings: CentralServeConfig): string | undefined {
  const { catalog } = settings.lakehouse;
  return catalog.startsWith('postgres:') ? splitPassword(catalog.slice('postgres:'.length)).password : undefined;
}

/** `error`, or an Error of its message redacted when that showed a password (its cause dropped: it shows it). */
function withoutPassword(error: unknown, password: string | undefined): unknown {
  if (!(error instanceof Error)) return error;
  const message = redactPasswords(error.message, [password]);
  return message === error.message ? error : new Error(message);
}

export { ident, sql };
