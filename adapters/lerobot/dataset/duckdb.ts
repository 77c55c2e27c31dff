import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { DatasetError } from './dataset-types.ts';
import { errorText } from '../../../daemon/util/index.ts';

/** A quoted SQL string literal. */
export const sqlString = (s: string): string => `'${s.replaceAll("'", "''")}'`;

/** A quoted SQL identifier (column names like observation.state need it). */
export const sqlIdent = (s: string): string => `"${s.replaceAll('"', '""')}"`;

/** Runs `fn` with a connection to a fresh in-memory DuckDB, closed afterwards. */
export async function withDuckDB<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    return await fn(conn);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** Rows as plain JS objects (BIGINT as bigint, lists as arrays). */
export async function queryRows(conn: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  try {
    const result = await conn.runAndReadAll(sql);
    return result.getRowObjectsJS() as Record<string, unknown>[];
  } catch (error) {
    throw new DatasetError(duckdbErrorText(error));
  }
}

/** A DuckDB error's text without the SQL it appends ("LINE 1: SELECT ..."): our query, not something the user wrote. */
export const duckdbErrorText = (error: unknown): string => errorText(error).replace(/\n+LINE \d+:[\s\S]*$/, '');
