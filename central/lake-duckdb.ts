import { join, resolve } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { CentralServeConfig } from './config.ts';
import { errorText } from 'auraison-edge/util';

/**
 * What the fleet lakehouse's DuckDBs are set up with (central/lake.ts): the extensions, the secrets (the catalog's
 * password, the S3 keys), and the lock-down of the fleet query's DuckDB.
 */

/** LOAD by path from `directory` (offline), or INSTALL and LOAD from DuckDB's repository. */
export async function loadExtension(c: DuckDBConnection, name: string, directory: string): Promise<void> {
  if (directory !== '') {
    const path = join(resolve(directory), `${name}.duckdb_extension`);
    try {
      await c.run(`LOAD ${sql(path)}`);
    } catch (error) {
      throw new Error(
        `lakehouse.extension_directory: cannot load ${path}: ${errorText(error)} (take the files from PyPI's duckdb-extension-${name.replace('_', '-')} wheel at the DuckDB version of @duckdb/node-api)`,
        { cause: error },
      );
    }
    return;
  }
  try {
    await c.run(`INSTALL ${name}`);
    await c.run(`LOAD ${name}`);
  } catch (error) {
    throw new Error(
      `cannot INSTALL the DuckDB extension ${name}: ${errorText(error)}; offline, set lakehouse.extension_directory to a dir of <name>.duckdb_extension files`,
      { cause: error },
    );
  }
}

/** The only files operator SQL may read: the lake's data and the uploads' bucket (local dirs or s3:// prefixes). */
export interface ReadableFiles {
  directories: string[];
  /** Single files: the DuckDB file a local catalog is kept in, and its WAL. */
  files: string[];
}

/**
 * Locks the DuckDB instance behind `c` for operator SQL, for as long as it lives: no file but those under
 * `readable` (enable_external_access off: no read_csv('/etc/passwd') or read_text, no COPY TO, ATTACH, LOAD
 * or INSTALL), no secret shown unredacted, the fleet query's memory and threads, and no setting changed after
 * (lock_configuration: `SET enable_external_access = true` fails). Run last, once the extensions are loaded
 * and the lake attached.
 */
export async function lockDown(
  c: DuckDBConnection,
  readable: ReadableFiles,
  limits: CentralServeConfig['fleet_query'],
): Promise<void> {
  await c.run(`SET memory_limit = ${sql(limits.memory_limit)}`);
  await c.run(`SET threads = ${limits.threads}`);
  if (readable.directories.length > 0)
    await c.run(`SET allowed_directories = [${readable.directories.map(sql).join(', ')}]`);
  if (readable.files.length > 0) await c.run(`SET allowed_paths = [${readable.files.map(sql).join(', ')}]`);
  await c.run('SET allow_unredacted_secrets = false');
  await c.run('SET enable_external_access = false');
  await c.run('SET lock_configuration = true');
}

/** The DuckDB secret that holds the catalog's PostgreSQL password; the ATTACH names it. */
export const CATALOG_SECRET = 'auraison_fleet_catalog';

/** The catalog's password as a postgres secret, merged by DuckDB's postgres extension into the conninfo. */
export function catalogSecret(password: string): string {
  return `CREATE OR REPLACE SECRET ${CATALOG_SECRET} (TYPE postgres, PASSWORD ${sql(password)})`;
}

/** The storage keys the query's own DuckDB reads with: fleet_query's read-only key when one is given. */
export function queryKeys(settings: CentralServeConfig): CentralServeConfig['storage'] {
  const { storage, fleet_query } = settings;
  if (fleet_query.s3_access_key_id === '') return storage;
  return {
    ...storage,
    access_key_id: fleet_query.s3_access_key_id,
    secret_access_key: fleet_query.s3_secret_access_key,
  };
}

/** The S3 secret DuckLake's data path is written and read with: the storage section's keys and endpoint. */
export function s3Secret(storage: CentralServeConfig['storage']): string {
  const endpoint = storage.endpoint === '' ? undefined : new URL(storage.endpoint);
  const options = [
    'TYPE s3',
    `KEY_ID ${sql(storage.access_key_id)}`,
    `SECRET ${sql(storage.secret_access_key)}`,
    `REGION ${sql(storage.region)}`,
    ...(endpoint
      ? [`ENDPOINT ${sql(endpoint.host)}`, `USE_SSL ${endpoint.protocol === 'https:' ? 'true' : 'false'}`]
      : []),
    `URL_STYLE ${sql(storage.force_path_style ? 'path' : 'vhost')}`,
  ];
  return `CREATE OR REPLACE SECRET auraison_fleet_s3 (${options.join(', ')})`;
}

/** A SQL string literal. */
export function sql(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** A SQL identifier, quoted. */
export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
