import { DatasetFolder } from './dataset-folder.ts';
import { forEachParquetBatch } from './dataset-parquet.ts';
import { DatasetError } from './dataset-types.ts';
import { sqlIdent } from './duckdb.ts';

/** Frames of some episodes: the requested vector columns, in dataset order. */
export interface FrameColumns {
  episodeIndex: number[];
  frameIndex: number[];
  columns: Record<string, Float32Array[]>;
}

/** Reads vector or scalar features of the frames of `episodes` (all when undefined), ordered by episode and frame. */
export async function readFrames(root: string, features: string[], episodes?: number[]): Promise<FrameColumns> {
  const folder = new DatasetFolder(root);
  const files = folder.list('data', '.parquet');
  if (files.length === 0) throw new DatasetError(`${root} has no data parquet files under data/`);
  const rows: Record<string, unknown>[] = [];
  await forEachParquetBatch(folder, files, async (parquet) => {
    const available = (await parquet.rows(`DESCRIBE SELECT * FROM ${parquet.from}`)).map((r) => String(r.column_name));
    for (const f of features) {
      if (!available.includes(f))
        throw new DatasetError(`${root} has no column "${f}" in its data (columns: ${available.join(', ')})`);
    }
    const where = episodes ? `WHERE episode_index IN (${episodes.map((e) => Math.trunc(e)).join(', ') || 'NULL'})` : '';
    for (const r of await parquet.rows(
      `SELECT episode_index, frame_index, ${features.map(sqlIdent).join(', ')} FROM ${parquet.from} ${where} ORDER BY episode_index, frame_index`,
    ))
      rows.push(r);
  });
  if (files.length > 1)
    rows.sort(
      (a, b) => Number(a.episode_index) - Number(b.episode_index) || Number(a.frame_index) - Number(b.frame_index),
    );
  const columns: Record<string, Float32Array[]> = Object.fromEntries(features.map((f) => [f, [] as Float32Array[]]));
  for (const r of rows) {
    for (const f of features) {
      const v = r[f];
      // Number(null) is 0: a NULL frame would be fed to the policy as zeros.
      if (v === null || v === undefined || (Array.isArray(v) && v.some((x) => x === null))) {
        throw new DatasetError(
          `${root}: episode ${Number(r.episode_index)} frame ${Number(r.frame_index)}: ${f} is NULL${v ? ' in places' : ''}`,
        );
      }
      columns[f]!.push(Array.isArray(v) ? Float32Array.from(v as number[]) : Float32Array.of(Number(v)));
    }
  }
  return {
    episodeIndex: rows.map((r) => Number(r.episode_index)),
    frameIndex: rows.map((r) => Number(r.frame_index)),
    columns,
  };
}
