import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteString } from './sql-text.ts';

/**
 * The files of one table's partition that a merge writes as one file, split where their columns' types
 * disagree (a message definition whose field changed type between recordings). Files that agree on the type
 * of every column they share go together (one lacking a column a later one has is fine: its rows get NULL,
 * as the views read them). Merging files that disagree would cast their values to the merged file's type,
 * and a query, which casts each file to the type of the whole table, would then answer otherwise than
 * before: int32 and float64 merged into float64 read `1.0`, where a table also holding strings read the
 * int32 file's `1`. So those stay in files of their own (each still merged with the files that agree).
 * `files` in commit order; each group keeps it. One group, the usual case, costs one read of the footers.
 */
export async function compatibleGroups(conn: DuckDBConnection, files: readonly string[]): Promise<string[][]> {
  if (files.length < 2) return [[...files]];
  const list = `[${files.map(quoteString).join(', ')}]`;
  // A file's whole schema, as its footer lists it: files with the same one agree (most are alike).
  const signature = new Map(
    (
      await conn.runAndReadAll(
        `SELECT file_name, string_agg(concat_ws(':', name, type, converted_type, logical_type::VARCHAR, num_children, repetition_type), ',') FROM parquet_schema(${list}) GROUP BY file_name`,
      )
    )
      .getRows()
      .map((r) => [String(r[0]), String(r[1])]),
  );
  if (new Set(signature.values()).size < 2) return [[...files]];
  // The columns' types as DuckDB reads them, once per distinct schema.
  const columns = new Map<string, Map<string, string>>();
  for (const f of files) {
    const sig = signature.get(f) ?? f;
    if (columns.has(sig)) continue;
    const described = (
      await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${quoteString(f)}, hive_partitioning = false)`)
    ).getRows();
    columns.set(sig, new Map(described.map((r) => [String(r[0]), String(r[1])])));
  }
  const groups: { types: Map<string, string>; files: string[] }[] = [];
  for (const f of files) {
    const types = columns.get(signature.get(f) ?? f)!;
    const agrees = (g: { types: Map<string, string> }) =>
      [...types].every(([name, type]) => (g.types.get(name) ?? type) === type);
    const group = groups.find(agrees);
    if (!group) groups.push({ types: new Map(types), files: [f] });
    else {
      for (const [name, type] of types) group.types.set(name, type);
      group.files.push(f);
    }
  }
  return groups.map((g) => g.files);
}
