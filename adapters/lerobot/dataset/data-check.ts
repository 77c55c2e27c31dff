import type { DatasetFolder } from './dataset-folder.ts';
import { checkEpisodeCount } from './dataset-limits.ts';
import { filesNamed, forEachParquetBatch } from './dataset-parquet.ts';
import type { LeRobotEpisode, LeRobotFeature } from './dataset-types.ts';
import { sqlIdent } from './duckdb.ts';

const NUMERIC_TYPE =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|DECIMAL.*)$/;

/** A numeric feature's column as the data holds it, over the batches read so far. */
interface ColumnFigures {
  size: number;
  lo: number;
  hi: number;
  nulls: number;
  nans: number;
}

/** What the data files hold, counted. */
export interface DataFigures {
  frames: number;
  /** Each episode's frames in the data, by episode_index. */
  lengths: Map<number, number>;
  /** Frames whose episode_index is NULL, or that have none (the column is absent). */
  unindexed: number;
}

/**
 * Counts the frames in the data files, each episode's too, and checks each numeric feature's column against info.json,
 * in one scan of each batch of files: the list length (min and max, so ragged rows show) against the declared shape,
 * NULL rows and NaN values. What disagrees goes to `warnings`. The episodes are counted before they are grouped: more
 * than MAX_EPISODES refuse the dataset.
 */
export async function checkData(
  folder: DatasetFolder,
  files: string[],
  features: Record<string, LeRobotFeature>,
  warnings: string[],
): Promise<DataFigures> {
  const where = filesNamed(files);
  const figures = new Map<string, ColumnFigures>();
  const mistyped = new Set<string>();
  const counted: DataFigures = { frames: 0, lengths: new Map(), unindexed: 0 };
  await forEachParquetBatch(folder, files, async (parquet) => {
    const { from } = parquet;
    const types = new Map(
      (await parquet.rows(`DESCRIBE SELECT * FROM ${from}`)).map((r) => [String(r.column_name), String(r.column_type)]),
    );
    const checks: { key: string; list: boolean; size: number }[] = [];
    for (const [key, f] of Object.entries(features)) {
      const type = types.get(key);
      if (f.dtype === 'image' || f.dtype === 'video' || type === undefined) continue;
      const list = /\[\d*\]$/.test(type);
      if (!NUMERIC_TYPE.test(type.replace(/\[\d*\]$/, ''))) {
        if (f.dtype !== 'string' && !mistyped.has(key)) {
          mistyped.add(key);
          warnings.push(`${where}: column ${key} is ${type}, but features.${key}.dtype is ${f.dtype}`);
        }
        continue;
      }
      checks.push({ key, list, size: f.shape.reduce((a, b) => a * b, 1) });
    }
    const isNan = (c: string, list: boolean): string =>
      list ? `len(list_filter(${c}, x -> isnan(x::DOUBLE))) > 0` : `isnan(${c}::DOUBLE)`;
    const select = checks.flatMap(({ key, list }, i) => {
      const c = sqlIdent(key);
      return [
        list ? `min(len(${c})) AS lo${i}, max(len(${c})) AS hi${i}` : `1 AS lo${i}, 1 AS hi${i}`,
        `count(*) FILTER (WHERE ${c} IS NULL) AS null${i}`,
        `count(*) FILTER (WHERE ${isNan(c, list)}) AS nan${i}`,
      ];
    });
    const indexed = types.has('episode_index');
    const episodes = indexed
      ? ['count(DISTINCT episode_index) AS episodes', 'count(*) FILTER (WHERE episode_index IS NULL) AS unindexed']
      : ['0 AS episodes', 'count(*) AS unindexed'];
    const row = (await parquet.rows(`SELECT ${['count(*) AS n', ...episodes, ...select].join(', ')} FROM ${from}`))[0]!;
    counted.frames += Number(row.n);
    counted.unindexed += Number(row.unindexed);
    checkEpisodeCount(counted.lengths.size + Number(row.episodes), where);
    if (Number(row.episodes) > 0) {
      const lengths = await parquet.rows(
        `SELECT episode_index AS e, count(*) AS n FROM ${from} WHERE episode_index IS NOT NULL GROUP BY 1`,
      );
      for (const { e, n } of lengths) counted.lengths.set(Number(e), (counted.lengths.get(Number(e)) ?? 0) + Number(n));
    }
    checks.forEach(({ key, size }, i) => {
      const seen = figures.get(key) ?? { size, lo: Infinity, hi: -Infinity, nulls: 0, nans: 0 };
      // min and max are NULL over a batch where the column is NULL throughout: that batch has no lengths.
      if (row[`lo${i}`] !== null) seen.lo = Math.min(seen.lo, Number(row[`lo${i}`]));
      if (row[`hi${i}`] !== null) seen.hi = Math.max(seen.hi, Number(row[`hi${i}`]));
      seen.nulls += Number(row[`null${i}`]);
      seen.nans += Number(row[`nan${i}`]);
      figures.set(key, seen);
    });
  });
  for (const [key, { size, nulls, nans, ...range }] of figures) {
    // A column NULL in every frame has no length: 0, as it holds no values.
    const [lo, hi] = range.lo > range.hi ? [0, 0] : [range.lo, range.hi];
    const declared = `features.${key}.shape holds ${size} values`;
    if (lo === hi && lo !== size) warnings.push(`${where}: column ${key} holds ${lo} values per frame; ${declared}`);
    if (lo !== hi)
      warnings.push(`${where}: column ${key} holds ${lo} to ${hi} values per frame (ragged rows); ${declared}`);
    if (nulls > 0) warnings.push(`${where}: column ${key} is NULL in ${nulls} frames`);
    if (nans > 0) warnings.push(`${where}: column ${key} has NaN in ${nans} frames`);
  }
  if (counted.unindexed > 0) warnings.push(`${where}: ${counted.unindexed} frames have no episode_index`);
  return counted;
}

/**
 * The episodes whose frames in the data (`lengths`) differ from their length in the metadata (`episodes`), or that the
 * metadata does not list: how many, and the first three in words. Only the episodes in `only` are compared when it is
 * given; none are when the metadata lists no episodes (nothing declares a length).
 */
export function lengthMismatches(
  episodes: readonly LeRobotEpisode[],
  lengths: ReadonlyMap<number, number>,
  only?: ReadonlySet<number>,
): { count: number; first: string[] } {
  const out = { count: 0, first: [] as string[] };
  if (episodes.length === 0) return out;
  const declared = new Map(episodes.map((e) => [e.episode_index, e.length]));
  for (const e of [...lengths.keys()].sort((a, b) => a - b)) {
    if (only && !only.has(e)) continue;
    const held = lengths.get(e)!;
    const said = declared.get(e);
    if (said === held) continue;
    if (out.count++ < 3)
      out.first.push(
        `episode ${e} holds ${held} frames in the data, ${said === undefined ? 'and the metadata does not list it' : `its metadata says ${said}`}`,
      );
  }
  return out;
}
