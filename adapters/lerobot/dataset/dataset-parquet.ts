import type { DuckDBDataChunk } from '@duckdb/node-api';
import type { DatasetFile, DatasetFolder } from './dataset-folder.ts';
import { DatasetError } from './dataset-types.ts';
import { duckdbErrorText, queryRows, sqlString, withDuckDB } from './duckdb.ts';

/**
 * The most parquet files held open at once for DuckDB: a process's descriptors are limited, and a v2.1 dataset has a
 * file per episode (DROID's 92,233).
 */
export const PARQUET_BATCH_FILES = 512;

/** Names files for a message: one, or the first and how many more. */
export const filesNamed = (files: readonly string[]): string =>
  `${files[0]}${files.length > 1 ? ` (and ${files.length - 1} more)` : ''}`;

/** Parquet files of a dataset opened for one DuckDB. */
export interface ParquetFiles {
  /** The files, as the dataset names them. */
  readonly files: readonly string[];
  /** `read_parquet([...], union_by_name = true)` over them, for a FROM clause. */
  readonly from: string;
  /** The rows of a query, as queryRows gives them; an error names the files as the dataset does. */
  rows(sql: string): Promise<Record<string, unknown>[]>;
  /** The rows of a query a chunk at a time (DuckDB's, 2,048 rows), never all in memory at once. */
  chunks(sql: string): AsyncGenerator<DuckDBDataChunk>;
}

/**
 * Runs `fn` over `files`, parquet files of the dataset in `folder`, each opened once by the folder and checked on its
 * descriptor, and read by DuckDB through that descriptor (/proc/self/fd/N): DuckDB reads the file that was checked,
 * whatever becomes of its name meanwhile (a name swapped for a named pipe blocked DuckDB's own open for ever). At most
 * PARQUET_BATCH_FILES files: forEachParquetBatch takes more.
 */
export async function withParquet<T>(
  folder: DatasetFolder,
  files: readonly string[],
  fn: (parquet: ParquetFiles) => Promise<T>,
): Promise<T> {
  if (files.length > PARQUET_BATCH_FILES)
    throw new DatasetError(
      `${files[0]} and ${files.length - 1} more: more parquet files than are read at once (${PARQUET_BATCH_FILES}); a dataset's metadata is in a few`,
    );
  const opened: DatasetFile[] = [];
  try {
    for (const file of files) opened.push(folder.open(file));
    const names = new Map(opened.map((f) => [f.via, f.path]));
    const named = (text: string) => text.replace(/\/proc\/self\/fd\/\d+/g, (via) => names.get(via) ?? via);
    const renamed = (error: unknown) =>
      error instanceof DatasetError ? new DatasetError(named(error.message)) : error;
    return await withDuckDB((conn) =>
      fn({
        files,
        from: `read_parquet([${opened.map((f) => sqlString(f.via)).join(', ')}], union_by_name = true)`,
        async rows(sql) {
          try {
            return await queryRows(conn, sql);
          } catch (error) {
            throw renamed(error);
          }
        },
        async *chunks(sql) {
          try {
            yield* await conn.stream(sql);
          } catch (error) {
            throw renamed(new DatasetError(duckdbErrorText(error)));
          }
        },
      }),
    );
  } finally {
    for (const file of opened) file.close();
  }
}

/**
 * withParquet over `files` PARQUET_BATCH_FILES at a time, in order. Each batch has a DuckDB of its own: the next
 * reuses the descriptors' numbers, and a DuckDB may keep what it read of a file by its path.
 */
export async function forEachParquetBatch(
  folder: DatasetFolder,
  files: readonly string[],
  fn: (parquet: ParquetFiles) => Promise<void>,
): Promise<void> {
  for (let i = 0; i < files.length; i += PARQUET_BATCH_FILES)
    await withParquet(folder, files.slice(i, i + PARQUET_BATCH_FILES), fn);
}
