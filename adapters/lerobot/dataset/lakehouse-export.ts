import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { CatalogLockedError } from '../../../daemon/lakehouse/index.ts';
import { openViews, vanishedFile } from '../../../daemon/lakehouse/index.ts';
import type { LazyViews } from '../../../daemon/lakehouse/index.ts';
import { DatasetError } from './dataset-types.ts';
import { queryRows, sqlIdent, sqlString, withDuckDB } from './duckdb.ts';
import { gapWarning, sampleGaps } from './sample-gaps.ts';
import { writeLeRobotV30, type EpisodeData, type FeatureSpec } from './v30-writer.ts';

/** A dataset feature from lakehouse columns: `observation.state=/joint_states:position`. */
export interface FeatureMapping {
  key: string;
  /** A topic (its decoded projection, e.g. "/joint_states") or a table name. */
  relation: string;
  columns: string[];
}

export interface EpisodeWindow {
  startNs: bigint;
  endNs: bigint;
  task: string;
}

export interface ExportOptions {
  /**
   * The lakehouse catalog (`<data_dir>/lakehouse/catalog.duckdb`), opened read-only: topics are read
   * through the views `query` defines over the parquet files it lists (in `tables/` beside it). A DuckDB
   * file that is not a daemon's catalog (no `bags` or `projections` table) is read as it is: a relation
   * per topic, named by the topic, with a `log_time` column in ns.
   */
  database: string;
  out: string;
  fps: number;
  features: FeatureMapping[];
  episodes: EpisodeWindow[];
  robotType?: string | null;
  /** The most frames all windows may resample to (the export holds them in memory). Default DEFAULT_MAX_FRAMES. */
  maxFrames?: number;
  /** Runs once the lakehouse's views are defined, before any is read (tests delete a file there, as retention may). */
  viewsDefined?: () => Promise<void> | void;
}

/** 1,000,000 frames: 9.3 h at 30 fps, about 1 GB of memory while exporting. */
export const DEFAULT_MAX_FRAMES = 1_000_000;

export interface ExportReport {
  out: string;
  episodes: number;
  frames: number;
  features: { key: string; relation: string; columns: string[]; dim: number; samples: number }[];
  /** Frames dropped at the start of an episode, before every feature had a sample. */
  leadingFramesDropped: number;
  /** Frames dropped at the end of an episode, after the last sample of the feature that ends first. */
  trailingFramesDropped: number;
  /**
   * What the export did to the data beyond resampling, in words (NULL samples skipped, episodes cut short, a
   * feature's sample held across a gap far longer than its period: drives merged into one episode).
   */
  warnings: string[];
}

/** Parses `KEY=RELATION:col1,col2`. */
export function parseFeatureMapping(text: string): FeatureMapping {
  const eq = text.indexOf('=');
  const colon = text.lastIndexOf(':');
  if (eq <= 0 || colon <= eq + 1 || colon === text.length - 1)
    throw new DatasetError(`feature mapping ${JSON.stringify(text)}: expected KEY=TOPIC:column[,column...]`);
  return {
    key: text.slice(0, eq),
    relation: text.slice(eq + 1, colon),
    columns: text
      .slice(colon + 1)
      .split(',')
      .filter(Boolean),
  };
}

interface Series {
  times: bigint[];
  values: Float32Array[];
  dim: number;
  /** Rows skipped because a column was NULL, and the time of the first. */
  nulls: { rows: number; column: string; firstNs: bigint } | null;
}

const NUMERIC =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|DECIMAL.*|BOOLEAN)$/;

/**
 * Exports recorded data from the lakehouse as a LeRobot v3.0 dataset. Each feature comes from columns of a
 * decoded topic projection (a relation named by its topic, with a `log_time` column in ns). Every
 * episode window is resampled to the dataset's fps by sample-and-hold: frame k takes, for each feature, the
 * latest sample at or before start + k / fps. Values are never interpolated, so a command is never invented.
 * Numeric and numeric-list columns only: image and video topics are refused (see README).
 */
export async function exportLakehouseToLeRobot(options: ExportOptions): Promise<ExportReport> {
  const { database, out, fps, features, episodes, robotType = null } = options;
  const counts = checkExport(options);
  const minStart = episodes.reduce((a, e) => (e.startNs < a ? e.startNs : a), episodes[0]!.startNs);
  const maxEnd = episodes.reduce((a, e) => (e.endNs > a ? e.endNs : a), episodes[0]!.endNs);
  const { series, warnings } = await readAllSeries(database, features, minStart, maxEnd, options.viewsDefined);
  series.forEach((s, j) => {
    if (s.nulls) {
      warnings.push(
        `feature ${features[j]!.key}: ${s.nulls.rows} of ${s.nulls.rows + s.times.length} rows of ${features[j]!.relation} have column "${s.nulls.column}" NULL ` +
          `(the first at ${s.nulls.firstNs} ns); they were skipped, so frames there hold the sample before`,
      );
    }
  });
  let dropped = 0;
  let trailing = 0;
  const data: EpisodeData[] = [];
  for (const [i, e] of episodes.entries()) {
    const episode = resampleEpisode(e, counts[i]!, 1e9 / fps, features, series);
    dropped += episode.dropped;
    if (episode.frames[features[0]!.key]!.length === 0)
      throw new DatasetError(`episode ${i} (${e.startNs}..${e.endNs}) has no frame where every feature has a sample`);
    const { cut, endNs } = episode;
    if (cut > 0) {
      trailing += cut;
      warnings.push(
        `episode ${i}: feature ${features[episode.endsFirst]!.key} has no sample after ${endNs} ns (${(Number(endNs! - e.startNs) / 1e9).toFixed(3)} s into the window, which is ` +
          `${(Number(e.endNs - e.startNs) / 1e9).toFixed(3)} s): the episode ends there; ${cut} frames to the window's end were cut, not filled by holding its last sample`,
      );
    }
    features.forEach((f, j) => {
      const gaps = sampleGaps(series[j]!.times, e.startNs, e.endNs, 1e9 / fps);
      if (gaps.length > 0) warnings.push(gapWarning(i, f, gaps, 1e9 / fps));
    });
    data.push({ task: e.task, frames: episode.frames });
  }
  const specs: FeatureSpec[] = features.map((f, j) => ({
    key: f.key,
    dim: series[j]!.dim,
    names: f.columns.length === series[j]!.dim ? f.columns : null,
  }));
  const written = await writeLeRobotV30(out, { fps, robotType, features: specs, episodes: data });
  return {
    out,
    episodes: written.episodes,
    frames: written.frames,
    features: features.map((f, j) => ({ ...f, dim: series[j]!.dim, samples: series[j]!.times.length })),
    leadingFramesDropped: dropped,
    trailingFramesDropped: trailing,
    warnings,
  };
}

/** Refuses an export that can't be made, before anything is read; returns each window's frame count. */
function checkExport(options: ExportOptions): number[] {
  const { database, fps, features, episodes, maxFrames = DEFAULT_MAX_FRAMES } = options;
  if (!existsSync(database))
    throw new DatasetError(`lakehouse catalog ${database} does not exist (record or import data first, or give --db)`);
  if (features.length === 0) throw new DatasetError('give at least one --feature KEY=TOPIC:column');
  if (episodes.length === 0) throw new DatasetError('give a --window or at least one --episode');
  const keys = new Set<string>();
  for (const f of features) {
    // Two mappings into one key would put both series' frames into it: twice the frames, all mislabelled.
    if (keys.has(f.key))
      throw new DatasetError(
        `feature ${f.key} is given twice; give each key one --feature (several columns go in one: KEY=TOPIC:COL1,COL2)`,
      );
    keys.add(f.key);
  }
  for (const e of episodes)
    if (e.endNs <= e.startNs) throw new DatasetError(`episode window ${e.startNs}..${e.endNs} ends before it starts`);
  const period = 1e9 / fps;
  const counts = episodes.map((e) => Math.floor(Number(e.endNs - e.startNs) / period) + 1);
  const resampled = counts.reduce((a, b) => a + b, 0);
  // Checked before anything is read: a window of "everything" (a year) would otherwise build ~1e9 frames in memory.
  if (resampled > maxFrames) {
    const hours = (maxFrames / fps / 3600).toFixed(1);
    throw new DatasetError(
      `the ${episodes.length === 1 ? 'window resamples' : `${episodes.length} windows resample`} to ${resampled} frames at ${fps} fps, more than ${maxFrames} (--max-frames; ${hours} h at ${fps} fps): ` +
        'export shorter windows (--episode START,END for each stretch you want), a lower --fps, or raise --max-frames',
    );
  }
  return counts;
}

/**
 * Each feature's samples between `minStart` and `maxEnd`, with the views' warnings. A parquet file deleted
 * while the export reads it (retention deletes the oldest data while the daemon records) fails the read:
 * read again, with the catalog read anew, up to twice.
 */
async function readAllSeries(
  database: string,
  features: readonly FeatureMapping[],
  minStart: bigint,
  maxEnd: bigint,
  viewsDefined: ExportOptions['viewsDefined'],
): Promise<{ series: Series[]; warnings: string[] }> {
  for (let attempt = 0; ; attempt++) {
    const warnings: string[] = [];
    let files: readonly string[] = [];
    try {
      const series = await withDuckDB(async (conn) => {
        const opened = await openLakehouse(conn, database);
        files = opened.views?.files ?? [];
        // Only the views of the topics exported are made: each reads its files' footers (a month of
        // recording is tens of thousands of files, nearly all of other topics).
        await opened.views?.define(features.flatMap((f) => relationNames(f.relation)));
        await viewsDefined?.();
        const out: Series[] = [];
        for (const f of features) out.push(await readSeries(conn, opened, f, minStart, maxEnd));
        warnings.push(...(opened.views?.warnings ?? []));
        return out;
      });
      return { series, warnings };
    } catch (error) {
      const gone = vanishedFile(error, files);
      if (gone === undefined) throw error;
      if (attempt === 2)
        throw new DatasetError(
          `parquet file ${gone} was deleted while the export read it (retention deletes the oldest data while the daemon records, compaction replaces small files with merged ones, or it was deleted by hand): export again, or a later window`,
        );
    }
  }
}

/**
 * One window's frames by sample-and-hold: frame k takes each feature's latest sample at or before
 * start + k * period. Frames before every feature has a sample are dropped (`dropped`); the episode ends at
 * the last sample of the feature that ends first (`endsFirst`, at `endNs`), the frames after it `cut`.
 */
function resampleEpisode(
  e: ExportOptions['episodes'][number],
  count: number,
  period: number,
  features: readonly FeatureMapping[],
  series: readonly Series[],
): {
  frames: Record<string, Float32Array[]>;
  dropped: number;
  cut: number;
  endsFirst: number;
  endNs: bigint | undefined;
} {
  const frames: Record<string, Float32Array[]> = Object.fromEntries(features.map((f) => [f.key, []]));
  const cursor = series.map(() => -1);
  // The episode ends at the last sample of the feature that ends first: past it sample-and-hold would repeat
  // that feature's last value (a stale command held for the rest of the window).
  let endJ = 0;
  const lastNs = series.map((s) => lastAtOrBefore(s.times, e.endNs));
  lastNs.forEach((t, j) => {
    if (t !== undefined && lastNs[endJ] !== undefined && t < lastNs[endJ]!) endJ = j;
  });
  const endNs = lastNs[endJ];
  let cut = 0;
  let dropped = 0;
  for (let k = 0; k < count; k++) {
    const t = e.startNs + BigInt(Math.round(k * period));
    if (endNs !== undefined && t > endNs) {
      cut = count - k;
      break;
    }
    series.forEach((s, j) => {
      while (cursor[j]! + 1 < s.times.length && s.times[cursor[j]! + 1]! <= t) cursor[j]!++;
    });
    if (cursor.some((c) => c < 0)) {
      if (Object.values(frames)[0]!.length === 0) dropped++;
      continue;
    }
    features.forEach((f, j) => frames[f.key]!.push(series[j]!.values[cursor[j]!]!));
  }
  return { frames, dropped, cut, endsFirst: endJ, endNs };
}

/** The last time in `times` (ascending) at or before `t`. */
function lastAtOrBefore(times: bigint[], t: bigint): bigint | undefined {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid]! <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 ? times[lo - 1] : undefined;
}

/** Where the export reads the lakehouse's relations: `query`'s views, or a DuckDB file attached as `own`. */
interface OpenedLakehouse {
  /** The prefix relations are read with: `""` (temporary views) or `own.`. */
  schema: string;
  /**
   * The lakehouse's views, each made when asked for (define): their `files` (what a retention pass may
   * delete under the export) and `warnings` (parquet files left out, unreadable) grow as they are made.
   * Absent for a DuckDB file that is not a daemon's catalog.
   */
  views?: LazyViews;
}

/**
 * Makes the lakehouse's relations readable on `conn`: the views `query` defines, made only when asked for,
 * or, for a DuckDB file that is not a daemon's catalog, the file itself attached as `own`.
 */
async function openLakehouse(conn: DuckDBConnection, database: string): Promise<OpenedLakehouse> {
  try {
    return {
      schema: '',
      views: await openViews(conn, { catalog: database, tables: join(dirname(database), 'tables') }),
    };
  } catch (error) {
    // Another process holding the catalog: its message says which and what to do.
    if (error instanceof CatalogLockedError) throw new DatasetError(error.message);
    // Any other failure (a damaged file) is the user's to see.
    if (!/Table with name (bags|projections|event_files) does not exist/.test((error as Error).message))
      throw new DatasetError(`lakehouse catalog ${database}: ${(error as Error).message.split('\n')[0]}`);
  }
  await conn.run('DETACH DATABASE IF EXISTS catalog');
  await conn.run(`ATTACH ${sqlString(database)} AS own (READ_ONLY)`);
  return { schema: 'own.' };
}

/** The names a feature's relation may have: as given, without its leading `/`, and with `_` for `/`. */
function relationNames(relation: string): string[] {
  return [...new Set([relation, relation.replace(/^\//, ''), relation.replace(/^\//, '').replaceAll('/', '_')])];
}

/** How many of the lakehouse's topics an error about a missing one lists. */
const TOPICS_LISTED = 12;

/** A time as both the forms --window takes: ISO 8601 (UTC) and ns since the epoch. */
function nsText(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? `${new Date(ms).toISOString()} (${ns} ns)` : `${ns} ns`;
}

async function readSeries(
  conn: DuckDBConnection,
  opened: OpenedLakehouse,
  f: FeatureMapping,
  startNs: bigint,
  endNs: bigint,
): Promise<Series> {
  const { schema } = opened;
  const candidates = relationNames(f.relation);
  let relation: string | undefined;
  let described: Record<string, unknown>[] = [];
  for (const c of candidates) {
    try {
      described = await queryRows(conn, `DESCRIBE ${schema}${sqlIdent(c)}`);
      relation = c;
      break;
    } catch (error) {
      // Not this name: try the next spelling. Anything else (a file of the view deleted under it) is thrown.
      if (!/does not exist/.test((error as Error).message)) throw error;
    }
  }
  if (!relation) {
    const topics = (opened.views?.names ?? []).filter((name) => name.startsWith('/')).sort();
    // A lakehouse of imported test bags holds a hundred topics: name a few, and where to list them all.
    const listed =
      topics.length > TOPICS_LISTED
        ? `${topics.slice(0, TOPICS_LISTED).join(', ')} and ${topics.length - TOPICS_LISTED} more: auraison-edge query 'SELECT DISTINCT topic FROM messages'`
        : topics.join(', ');
    const known =
      schema === '' ? ` (its topics: ${topics.length > 0 ? listed : 'none yet; record or import a bag first'})` : '';
    throw new DatasetError(
      `feature ${f.key}: the lakehouse has no table or view ${candidates.map((c) => JSON.stringify(c)).join(' or ')}${known}`,
    );
  }
  const types = new Map(described.map((r) => [String(r.column_name), String(r.column_type)]));
  const timeType = types.get('log_time');
  if (!timeType) throw new DatasetError(`feature ${f.key}: ${relation} has no log_time column`);
  for (const c of f.columns) {
    const t = types.get(c);
    if (!t)
      throw new DatasetError(
        `feature ${f.key}: ${relation} has no column "${c}" (columns: ${[...types.keys()].join(', ')})`,
      );
    const base = t.replace(/\[\d*\]$/, '');
    if (!NUMERIC.test(base)) {
      throw new DatasetError(
        `feature ${f.key}: column "${c}" of ${relation} is ${t}; only numbers and lists of numbers become features (images and videos are not exported)`,
      );
    }
  }
  const time = timeType.startsWith('TIMESTAMP') ? `epoch_ns(log_time)` : `CAST(log_time AS BIGINT)`;
  const rows = await queryRows(
    conn,
    `SELECT ${time} AS t, ${f.columns.map((c) => sqlIdent(c)).join(', ')} FROM ${schema}${sqlIdent(relation)} WHERE ${time} BETWEEN ${startNs} AND ${endNs} ORDER BY t`,
  );
  const times: bigint[] = [];
  const values: Float32Array[] = [];
  let dim = -1;
  let nulls: Series['nulls'] = null;
  for (const r of rows) {
    // Number(null) is 0: a NULL sample would be exported as a command of 0. Skip the row, and say so.
    const nullColumn = f.columns.find(
      (c) =>
        r[c] === null || r[c] === undefined || (Array.isArray(r[c]) && (r[c] as unknown[]).some((x) => x === null)),
    );
    if (nullColumn !== undefined) {
      if (nulls) nulls.rows++;
      else nulls = { rows: 1, column: nullColumn, firstNs: BigInt(r.t as bigint | number) };
      continue;
    }
    const flat = f.columns.flatMap((c) => {
      const v = r[c];
      return Array.isArray(v) ? v.map(Number) : [Number(v)];
    });
    if (dim === -1) dim = flat.length;
    if (flat.length !== dim)
      throw new DatasetError(
        `feature ${f.key}: ${relation} rows have ${dim} and then ${flat.length} values; a feature has a fixed length`,
      );
    times.push(BigInt(r.t as bigint | number));
    values.push(Float32Array.from(flat));
  }
  if (rows.length === 0) {
    // Window times are hard to guess (log time is wall time, a sped-up sim packs minutes into seconds): say where the
    // data is.
    const [span] = await queryRows(
      conn,
      `SELECT min(${time}) AS first, max(${time}) AS last FROM ${schema}${sqlIdent(relation)}`,
    );
    const has =
      span?.first === null || span?.first === undefined
        ? `${relation} has no rows at all`
        : `its rows run from ${nsText(BigInt(span.first as bigint))} to ${nsText(BigInt(span.last as bigint))}`;
    throw new DatasetError(
      `feature ${f.key}: ${relation} has no rows between ${nsText(startNs)} and ${nsText(endNs)}; ${has}: give a window inside that`,
    );
  }
  if (times.length === 0)
    throw new DatasetError(
      `feature ${f.key}: every row of ${relation} between ${startNs} and ${endNs} has column "${nulls!.column}" NULL`,
    );
  return { times, values, dim, nulls };
}
