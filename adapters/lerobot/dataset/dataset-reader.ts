import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { checkLfsPointers, warnAbsentVideos } from './dataset-files.ts';
import { DatasetFolder, UnsafeDatasetError } from './dataset-folder.ts';
import { checkEpisodeCount, MAX_EPISODES } from './dataset-limits.ts';
import { episodeDataPath, forEachJsonLine, parseEpisode, parseInfo, parseStats, readJson } from './dataset-metadata.ts';
import {
  DatasetError,
  type FeatureStats,
  type LeRobotDatasetSummary,
  type LeRobotEpisode,
  type LeRobotFeature,
  type LeRobotTask,
} from './dataset-types.ts';
import { datasetVideos } from './dataset-videos.ts';
import { queryRows, sqlIdent, sqlString, withDuckDB } from './duckdb.ts';
import { StatsAggregator } from './stats.ts';

const parquetList = (files: string[]): string => `[${files.map(sqlString).join(', ')}]`;

/** Names files for a message: one, or the first and how many more. */
const filesNamed = (files: string[]): string =>
  `${files[0]}${files.length > 1 ? ` (and ${files.length - 1} more)` : ''}`;

/**
 * Reads a LeRobot dataset's metadata (v2.0/v2.1: JSON lines; v3.0: parquet) and counts its frames from the
 * data files, so a dataset whose metadata disagrees with its data says so. Every file it reads or lists is checked
 * against the dataset's folder first (DatasetFolder): one outside it, or not a regular file, refuses the dataset.
 */
export async function readLeRobotDataset(root: string): Promise<LeRobotDatasetSummary> {
  const infoPath = join(root, 'meta', 'info.json');
  if (!existsSync(infoPath)) {
    throw new DatasetError(
      `${root} is not a LeRobot dataset: no meta/info.json${existsSync(root) && statSync(root).isDirectory() ? '' : ' (the directory does not exist)'}`,
    );
  }
  const warnings: string[] = [];
  const folder = new DatasetFolder(root);
  checkLfsPointers(folder, warnings);
  const info = parseInfo(readJson(folder.file(infoPath)), infoPath);
  const version = info.codebase_version;
  const major = version.replace(/^v/, '').split('.')[0];
  if (major !== '2' && major !== '3')
    throw new DatasetError(`${root}: codebase_version ${version} is not supported (v2.0, v2.1 and v3.0 are)`);
  const { features } = info;
  const dataFiles = folder.list('data', '.parquet');
  const videoFiles = folder.list('videos', '.mp4');
  for (const [key, f] of Object.entries(features)) {
    // Image and video names label the axes (height, width, channel), not the elements.
    if (f.dtype === 'image' || f.dtype === 'video' || !f.names) continue;
    const size = f.shape.reduce((a, b) => a * b, 1);
    if (f.names.length !== size)
      warnings.push(
        `${infoPath}: features.${key}: shape [${f.shape.join(', ')}] holds ${size} values, but names lists ${f.names.length}`,
      );
  }
  return withDuckDB(async (conn) => {
    const { episodes, tasks, stats } =
      major === '2' ? await readV2Meta(folder, warnings) : await readV3Meta(conn, folder, warnings);
    let frames = 0;
    if (dataFiles.length > 0) {
      frames = await checkData(conn, dataFiles, features, warnings);
    } else {
      warnings.push('no data parquet files under data/');
    }
    if (info.total_frames !== undefined && info.total_frames !== frames)
      warnings.push(`info.json says ${info.total_frames} frames, the data files hold ${frames}`);
    if (info.total_episodes !== undefined && info.total_episodes !== episodes.length)
      warnings.push(`info.json says ${info.total_episodes} episodes, the episode metadata lists ${episodes.length}`);
    let lengthSum = 0;
    for (const e of episodes) lengthSum += e.length;
    if (episodes.length > 0 && lengthSum !== frames)
      warnings.push(`episode lengths sum to ${lengthSum}, the data files hold ${frames} frames`);
    if (major === '2' && info.data_path) {
      // v2.x keeps one data file per episode: name the first ones missing, not only the count that is off.
      let missing = 0;
      const named: string[] = [];
      for (const e of episodes) {
        const path = episodeDataPath(info.data_path, e.episode_index, info.chunks_size ?? 1000);
        if (existsSync(folder.named(path, 'data_path', `episode ${e.episode_index}`))) continue;
        if (missing++ < 5) named.push(path);
      }
      if (missing > 0)
        warnings.push(
          `${missing} episode${missing > 1 ? 's' : ''} listed in meta/episodes.jsonl ${missing > 1 ? 'have' : 'has'} no data file: ${named.join(', ')}${missing > 5 ? ', ...' : ''}`,
        );
    }
    warnAbsentVideos(folder, info, features, episodes, warnings);
    const videos = await videoSummary(root, warnings);
    for (const [key, st] of Object.entries(stats)) {
      for (const [stat, v] of Object.entries(st)) {
        // +-Infinity is a statistic as it is (a LaserScan's max where nothing was in range, REP 117); NaN normalizes
        // nothing, so it is said.
        const bad = (v as number[]).findIndex((x) => Number.isNaN(x));
        if (bad >= 0) warnings.push(`stats of ${key}: ${stat} element ${bad} is NaN`);
      }
    }
    return {
      root,
      version,
      robotType: info.robot_type,
      fps: info.fps ?? 0,
      totalEpisodes: info.total_episodes ?? episodes.length,
      totalFrames: info.total_frames ?? frames,
      features,
      episodes,
      tasks,
      stats,
      frames,
      dataFiles: dataFiles.length,
      videoFiles: videoFiles.length,
      videos,
      warnings,
    };
  });
}

/**
 * The video features with where their episodes are; metadata that does not say is a warning, a path that is not safe to
 * open refuses the dataset.
 */
async function videoSummary(root: string, warnings: string[]): Promise<LeRobotDatasetSummary['videos']> {
  let videos;
  try {
    videos = await datasetVideos(root);
  } catch (error) {
    if (!(error instanceof DatasetError) || error instanceof UnsafeDatasetError) throw error;
    warnings.push(`video features: ${error.message}`);
    return [];
  }
  return videos.features.map(({ key, width, height, codec, pixFmt }) => {
    const episodes = videos.episodes.get(key)!;
    return {
      key,
      width,
      height,
      codec,
      pixFmt,
      episodes: episodes.length,
      files: new Set(episodes.map((e) => e.path)).size,
    };
  });
}

const NUMERIC_TYPE =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|DECIMAL.*)$/;

/**
 * Counts the frames in the data files and checks each numeric feature's column against info.json, in one
 * scan: the list length (min and max, so ragged rows show) against the declared shape, NULL rows and NaN
 * values. Returns the frame count; what disagrees goes to `warnings`.
 */
async function checkData(
  conn: DuckDBConnection,
  files: string[],
  features: Record<string, LeRobotFeature>,
  warnings: string[],
): Promise<number> {
  const from = `read_parquet(${parquetList(files)}, union_by_name = true)`;
  const types = new Map(
    (await queryRows(conn, `DESCRIBE SELECT * FROM ${from}`)).map((r) => [
      String(r.column_name),
      String(r.column_type),
    ]),
  );
  const checks: { key: string; list: boolean; size: number }[] = [];
  for (const [key, f] of Object.entries(features)) {
    const type = types.get(key);
    if (f.dtype === 'image' || f.dtype === 'video' || type === undefined) continue;
    const list = /\[\d*\]$/.test(type);
    if (!NUMERIC_TYPE.test(type.replace(/\[\d*\]$/, ''))) {
      if (f.dtype !== 'string')
        warnings.push(`${filesNamed(files)}: column ${key} is ${type}, but features.${key}.dtype is ${f.dtype}`);
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
  const row = (await queryRows(conn, `SELECT ${['count(*) AS n', ...select].join(', ')} FROM ${from}`))[0]!;
  const where = filesNamed(files);
  checks.forEach(({ key, size }, i) => {
    const [lo, hi, nulls, nans] = [row[`lo${i}`], row[`hi${i}`], row[`null${i}`], row[`nan${i}`]].map(Number) as [
      number,
      number,
      number,
      number,
    ];
    const declared = `features.${key}.shape holds ${size} values`;
    if (lo === hi && lo !== size) warnings.push(`${where}: column ${key} holds ${lo} values per frame; ${declared}`);
    if (lo !== hi)
      warnings.push(`${where}: column ${key} holds ${lo} to ${hi} values per frame (ragged rows); ${declared}`);
    if (nulls > 0) warnings.push(`${where}: column ${key} is NULL in ${nulls} frames`);
    if (nans > 0) warnings.push(`${where}: column ${key} has NaN in ${nans} frames`);
  });
  return Number(row.n);
}

/** `meta/<name>` when it is there (and safe to open), else undefined. */
const metaFile = (folder: DatasetFolder, name: string): string | undefined => {
  const path = join(folder.root, 'meta', name);
  return existsSync(path) ? folder.file(path) : undefined;
};

async function readV2Meta(
  folder: DatasetFolder,
  warnings: string[],
): Promise<{ episodes: LeRobotEpisode[]; tasks: LeRobotTask[]; stats: Record<string, FeatureStats> }> {
  const episodes: LeRobotEpisode[] = [];
  const episodesPath = metaFile(folder, 'episodes.jsonl');
  if (episodesPath)
    await forEachJsonLine(episodesPath, (v, line) => {
      checkEpisodeCount(episodes.length + 1, episodesPath);
      episodes.push(parseEpisode(v, `${episodesPath} line ${line}`));
    });
  const tasks: LeRobotTask[] = [];
  const tasksPath = metaFile(folder, 'tasks.jsonl');
  if (tasksPath) {
    await forEachJsonLine(tasksPath, (v, line) => {
      const t = v as Partial<LeRobotTask> | null;
      if (typeof t !== 'object' || t === null || !Number.isInteger(t.task_index) || typeof t.task !== 'string') {
        throw new DatasetError(
          `${tasksPath} line ${line}: expected {"task_index": a whole number, "task": a string}, got ${JSON.stringify(v)?.slice(0, 60)}`,
        );
      }
      tasks.push({ task_index: t.task_index!, task: t.task });
    });
  }
  let stats: Record<string, FeatureStats> = {};
  const statsPath = metaFile(folder, 'stats.json');
  const episodesStatsPath = metaFile(folder, 'episodes_stats.jsonl');
  if (statsPath) {
    stats = parseStats(readJson(statsPath), statsPath, warnings);
  } else if (episodesStatsPath) {
    // v2.1 keeps statistics per episode; the dataset's are their aggregate.
    const aggregators = new Map<string, StatsAggregator>();
    await forEachJsonLine(episodesStatsPath, (v, line) => {
      const where = `${episodesStatsPath} line ${line}`;
      const stats = (v as { stats?: unknown } | null)?.stats;
      if (typeof v !== 'object' || v === null || stats === undefined)
        throw new DatasetError(`${where}: expected an object with stats, got ${JSON.stringify(v)?.slice(0, 60)}`);
      for (const [key, s] of Object.entries(parseStats(stats, where, warnings))) {
        if (!aggregators.has(key)) aggregators.set(key, new StatsAggregator());
        const skipped = aggregators.get(key)!.add(s);
        if (skipped) warnings.push(`${where}: ${key}: ${skipped}; left out of the aggregate`);
      }
    });
    for (const [key, a] of aggregators) stats[key] = a.result();
  }
  return { episodes, tasks, stats };
}

async function readV3Meta(
  conn: DuckDBConnection,
  folder: DatasetFolder,
  warnings: string[],
): Promise<{ episodes: LeRobotEpisode[]; tasks: LeRobotTask[]; stats: Record<string, FeatureStats> }> {
  const tasksPath = metaFile(folder, 'tasks.parquet');
  let tasks: LeRobotTask[] = [];
  if (tasksPath) {
    const from = `read_parquet(${sqlString(tasksPath)})`;
    const columns = (await queryRows(conn, `DESCRIBE SELECT * FROM ${from}`)).map((r) => String(r.column_name));
    const [counted] = await queryRows(conn, `SELECT count(*) AS n FROM ${from}`);
    const count = Number(counted!.n);
    if (count > 0 && !columns.includes('task_index'))
      throw new DatasetError(`${tasksPath} has no column task_index (columns: ${columns.join(', ')})`);
    if (count > MAX_EPISODES)
      throw new DatasetError(
        `${tasksPath} lists ${count} tasks, more than a dataset may have episodes (${MAX_EPISODES}): refused before they are read`,
      );
    // pandas writes the task string as the frame's index: a column `task`, or `__index_level_0__` when unnamed.
    const text = ['task', '__index_level_0__'].find((c) => columns.includes(c));
    const rows =
      count === 0
        ? []
        : await queryRows(
            conn,
            `SELECT task_index${text ? `, ${sqlIdent(text)} AS task` : ''} FROM ${from} ORDER BY task_index`,
          );
    tasks = rows.map((r) => ({ task_index: Number(r.task_index), task: String(r.task ?? '') }));
  }
  const episodeFiles = folder.list(join('meta', 'episodes'), '.parquet');
  const episodes: LeRobotEpisode[] = [];
  if (episodeFiles.length > 0) {
    const from = `read_parquet(${parquetList(episodeFiles)}, union_by_name = true)`;
    const columns = (await queryRows(conn, `DESCRIBE SELECT * FROM ${from}`)).map((r) => String(r.column_name));
    for (const c of ['episode_index', 'length']) {
      if (!columns.includes(c))
        throw new DatasetError(`${filesNamed(episodeFiles)} has no column ${c} (columns: ${columns.join(', ')})`);
    }
    if (!columns.includes('tasks'))
      warnings.push(`${filesNamed(episodeFiles)} has no column tasks; episodes are listed without their tasks`);
    const [counted] = await queryRows(conn, `SELECT count(*) AS n FROM ${from}`);
    checkEpisodeCount(Number(counted!.n), filesNamed(episodeFiles));
    const rows = await queryRows(
      conn,
      `SELECT episode_index, length${columns.includes('tasks') ? ', tasks' : ''} FROM ${from} ORDER BY episode_index`,
    );
    rows.forEach((r, i) => episodes.push(parseEpisode(r, `${filesNamed(episodeFiles)} row ${i}`)));
  }
  const statsPath = metaFile(folder, 'stats.json');
  const stats = statsPath ? parseStats(readJson(statsPath), statsPath, warnings) : {};
  return { episodes, tasks, stats };
}

/** Frames of some episodes: the requested vector columns, in dataset order. */
export interface FrameColumns {
  episodeIndex: number[];
  frameIndex: number[];
  columns: Record<string, Float32Array[]>;
}

/** Reads vector or scalar features of the frames of `episodes` (all when undefined), ordered by episode and frame. */
export async function readFrames(root: string, features: string[], episodes?: number[]): Promise<FrameColumns> {
  const files = new DatasetFolder(root).list('data', '.parquet');
  if (files.length === 0) throw new DatasetError(`${root} has no data parquet files under data/`);
  return withDuckDB(async (conn) => {
    const available = (await queryRows(conn, `DESCRIBE SELECT * FROM read_parquet(${parquetList(files)})`)).map((r) =>
      String(r.column_name),
    );
    for (const f of features) {
      if (!available.includes(f))
        throw new DatasetError(`${root} has no column "${f}" in its data (columns: ${available.join(', ')})`);
    }
    const where = episodes ? `WHERE episode_index IN (${episodes.map((e) => Math.trunc(e)).join(', ') || 'NULL'})` : '';
    const rows = await queryRows(
      conn,
      `SELECT episode_index, frame_index, ${features.map(sqlIdent).join(', ')} FROM read_parquet(${parquetList(files)}) ${where} ORDER BY episode_index, frame_index`,
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
  });
}
