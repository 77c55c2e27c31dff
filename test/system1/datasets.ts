import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { FIXTURES } from '../helpers/cli.ts';

/** Damaged copies of the LeRobot fixture, for tests of what inspect and replay make of bad data. */

export const G1 = join(FIXTURES, 'lerobot', 'g1_inspire_v2.1');
export type Features = Record<string, Record<string, unknown>>;
let copies = 0;

/**
 * A copy of the fixture's metadata and its first three episodes' data in `dir`, changed by `edit` (the fixture is
 * read-only).
 */
export function copyG1Dataset(dir: string, edit: (meta: string, data: string) => void = () => {}): string {
  const root = join(dir, `g1-${copies++}`);
  cpSync(join(G1, 'meta'), join(root, 'meta'), { recursive: true });
  const data = join(root, 'data', 'chunk-000');
  mkdirSync(data, { recursive: true });
  for (const e of [0, 1, 2])
    cpSync(join(G1, 'data', 'chunk-000', `episode_00000${e}.parquet`), join(data, `episode_00000${e}.parquet`));
  edit(join(root, 'meta'), data);
  return root;
}

export function editJson(path: string, change: (v: Record<string, unknown>) => unknown): void {
  writeFileSync(path, JSON.stringify(change(JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>)));
}

/** Replaces line `n` (1-based) of a text file. */
export function editLine(path: string, n: number, text: string): void {
  const lines = readFileSync(path, 'utf8').split('\n');
  lines[n - 1] = text;
  writeFileSync(path, lines.join('\n'));
}

/** Rewrites a parquet file through DuckDB SQL over `t` (the file's rows). */
export async function rewriteParquet(path: string, select: string): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  await conn.run(`CREATE TABLE t AS SELECT * FROM read_parquet('${path}')`);
  await conn.run(`COPY (${select}) TO '${path}' (FORMAT parquet)`);
  conn.closeSync();
  instance.closeSync();
}
