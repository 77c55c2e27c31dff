import {
  BIGINT,
  DOUBLE,
  FLOAT,
  LIST,
  listValue,
  VARCHAR,
  type DuckDBAppender,
  type DuckDBConnection,
} from '@duckdb/node-api';
import { sqlIdent, sqlString } from './duckdb.ts';

/** The column types the dataset writer needs, as DuckDB names them (DOUBLE[][][]: an image's per-channel stats). */
export type ColumnType =
  'FLOAT' | 'FLOAT[]' | 'DOUBLE' | 'DOUBLE[]' | 'DOUBLE[][][]' | 'BIGINT' | 'BIGINT[]' | 'VARCHAR[]';

export interface ParquetColumn {
  name: string;
  type: ColumnType;
}

/**
 * Writes rows to a parquet file through DuckDB's appender: each value goes in as the binary number or string it
 * is, never through text, so +inf, -inf and NaN (a LaserScan's "nothing in range", REP 117) stay what they are.
 * A JSON round trip made them NULL. Rows hold one value per column, in the columns' order.
 */
export async function writeRowsParquet(
  conn: DuckDBConnection,
  columns: readonly ParquetColumn[],
  rows: Iterable<readonly unknown[]>,
  out: string,
): Promise<void> {
  const table = `rows_${Math.random().toString(36).slice(2)}`;
  await conn.run(
    `CREATE TEMP TABLE ${sqlIdent(table)} (${columns.map((c) => `${sqlIdent(c.name)} ${c.type}`).join(', ')})`,
  );
  try {
    const appender = await conn.createAppender(table, 'main', 'temp');
    try {
      for (const row of rows) {
        columns.forEach((c, i) => appendValue(appender, c.type, row[i]));
        appender.endRow();
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
    await conn.run(`COPY ${sqlIdent(table)} TO ${sqlString(out)} (FORMAT parquet, COMPRESSION zstd)`);
  } finally {
    await conn.run(`DROP TABLE IF EXISTS temp.${sqlIdent(table)}`);
  }
}

const numbers = (value: unknown): number[] => Array.from(value as ArrayLike<number>);

function appendValue(appender: DuckDBAppender, type: ColumnType, value: unknown): void {
  switch (type) {
    case 'FLOAT':
      return appender.appendFloat(value as number);
    case 'DOUBLE':
      return appender.appendDouble(value as number);
    case 'BIGINT':
      return appender.appendBigInt(BigInt(value as number | bigint));
    case 'FLOAT[]':
      return appender.appendList(numbers(value), LIST(FLOAT));
    case 'DOUBLE[]':
      return appender.appendList(numbers(value), LIST(DOUBLE));
    case 'DOUBLE[][][]':
      return appender.appendList(
        (value as number[][][]).map((plane) => listValue(plane.map((row) => listValue(numbers(row))))),
        LIST(LIST(LIST(DOUBLE))),
      );
    case 'BIGINT[]':
      return appender.appendList(numbers(value).map(BigInt), LIST(BIGINT));
    case 'VARCHAR[]':
      return appender.appendList(value as string[], LIST(VARCHAR));
  }
}
