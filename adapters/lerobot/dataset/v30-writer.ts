import { mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { DatasetError, type FeatureStats } from './dataset-types.ts';
import { sqlString, withDuckDB } from './duckdb.ts';
import { writeRowsParquet, type ColumnType, type ParquetColumn } from './parquet-rows.ts';
import { errorText, stringifyPythonJson } from '../../../daemon/util/index.ts';
import { pathTooLong, shownName } from './dataset-limits.ts';
import { computeStats } from './stats.ts';
import type { VideoCodec } from './video-encoder.ts';
import {
  imageStatsJson,
  VIDEO_PATH,
  videoFile,
  writeVideos,
  type VideoFeatureSpec,
  type WrittenVideo,
} from './video-writer.ts';

export type { VideoFeatureSpec } from './video-writer.ts';

/** A numeric feature to write: a float32 vector per frame (shape [n]). */
export interface FeatureSpec {
  key: string;
  names: string[] | null;
  dim: number;
}

export interface EpisodeData {
  task: string;
  /** Per feature key, one vector per frame; every feature has the same number of frames. */
  frames: Record<string, Float32Array[]>;
  /** The episode's frame count: needed when it has video features alone. */
  length?: number;
}

export interface WriteOptions {
  fps: number;
  robotType?: string | null;
  features: FeatureSpec[];
  episodes: EpisodeData[];
  /** Camera features, encoded as videos by ffmpeg. */
  videos?: VideoFeatureSpec[];
  /** Their codec (default av1, as LeRobot). */
  videoCodec?: VideoCodec;
  /** The environment ffmpeg runs in. */
  env?: NodeJS.ProcessEnv;
}

const CHUNK_SIZE = 1000;
const DATA_FILES_SIZE_MB = 100;
const VIDEO_FILES_SIZE_MB = 200;
const DEFAULT_FEATURES = [
  ['timestamp', 'float32'],
  ['frame_index', 'int64'],
  ['episode_index', 'int64'],
  ['index', 'int64'],
  ['task_index', 'int64'],
] as const;

/**
 * Writes a LeRobot v3.0 dataset: meta/info.json, meta/stats.json, meta/tasks.parquet,
 * meta/episodes/chunk-000/file-000.parquet, data/chunk-000/file-000.parquet and, per video feature,
 * videos/<key>/chunk-000/file-000.mp4 (a new file past video_files_size_in_mb). The data and episodes go in one
 * file each (readers locate episodes through meta/episodes, so a file past data_files_size_in_mb still reads
 * correctly). Parquet is written by DuckDB, videos by ffmpeg. The dataset is written into a hidden sibling
 * directory and renamed to `target` at the end, so a failed write leaves nothing behind.
 */
export async function writeLeRobotV30(
  target: string,
  options: WriteOptions,
): Promise<{ frames: number; episodes: number; videos: { key: string; width: number; height: number }[] }> {
  const { fps, robotType = null, features, episodes, videos = [], videoCodec = 'av1', env } = options;
  const lengths = checkEpisodes(target, fps, features, episodes, videos);
  const total = lengths.reduce((a, b) => a + b, 0);
  const tasks = [...new Set(episodes.map((e) => e.task))];

  const root = partialDir(target);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(root, 'meta', 'episodes', 'chunk-000'), { recursive: true });
  mkdirSync(join(root, 'data', 'chunk-000'), { recursive: true });
  let done = false;
  let written: WrittenVideo[];
  try {
    written = await writeVideos(root, videos, {
      fps,
      codec: videoCodec,
      lengths,
      fileSizeMb: VIDEO_FILES_SIZE_MB,
      chunksSize: CHUNK_SIZE,
      env,
    });
    const { frameRows, stats, episodeStats } = framesWithStats(
      fps,
      features,
      episodes,
      lengths,
      new Map(tasks.map((t, i) => [t, i])),
    );
    const episodeRows = episodesIndex(episodes, lengths, episodeStats, written);
    const videoKeys = new Set(videos.map((v) => v.key));
    await withDuckDB(async (conn) => {
      await writeRowsParquet(
        conn,
        frameColumns(features),
        frameRows,
        join(root, 'data', 'chunk-000', 'file-000.parquet'),
      );
      const episodeKeys = Object.keys(episodeRows[0]!);
      await writeRowsParquet(
        conn,
        episodeKeys.map((name) => ({ name, type: episodeColumnType(name, videoKeys) })),
        episodeRows.map((r) => episodeKeys.map((k) => r[k])),
        join(root, 'meta', 'episodes', 'chunk-000', 'file-000.parquet'),
      );
      await writeTasksParquet(conn, tasks, join(root, 'meta', 'tasks.parquet'));
    });

    const featureInfo: Record<string, unknown> = {};
    for (const f of features) featureInfo[f.key] = { dtype: 'float32', shape: [f.dim], names: f.names };
    for (const v of written) featureInfo[v.key] = v.feature;
    for (const [k, dtype] of DEFAULT_FEATURES) featureInfo[k] = { dtype, shape: [1], names: null };
    const info = {
      codebase_version: 'v3.0',
      robot_type: robotType,
      total_episodes: episodes.length,
      total_frames: total,
      total_tasks: tasks.length,
      chunks_size: CHUNK_SIZE,
      data_files_size_in_mb: DATA_FILES_SIZE_MB,
      video_files_size_in_mb: VIDEO_FILES_SIZE_MB,
      fps,
      splits: { train: `0:${episodes.length}` },
      data_path: 'data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet',
      video_path: written.length > 0 ? VIDEO_PATH : null,
      features: featureInfo,
    };
    writeFileSync(join(root, 'meta', 'info.json'), `${JSON.stringify(info, null, 4)}\n`);
    // As LeRobot's json.dump writes it: a scan's +inf max stays Infinity, where JSON.stringify wrote null.
    const statsJson: Record<string, unknown> = { ...stats };
    for (const v of written) statsJson[v.key] = imageStatsJson(v.stats);
    writeFileSync(join(root, 'meta', 'stats.json'), `${stringifyPythonJson(statsJson, 4)}\n`);
    // rename(2) replaces an empty directory, so an empty `target` the user made is fine.
    renameSync(root, target);
    done = true;
  } finally {
    if (!done) rmSync(root, { recursive: true, force: true });
  }
  const sizes = written.map(({ key, width, height }) => ({ key, width, height }));
  return { frames: total, episodes: episodes.length, videos: sizes };
}

/** Where writeLeRobotV30 writes the dataset, to rename it to `target` once it is whole. */
const partialDir = (target: string): string => join(dirname(target), `.${basename(target)}.partial-${process.pid}`);

/** The longest paths of a dataset's files, but its videos'. */
const WRITTEN = ['meta/episodes/chunk-000/file-000.parquet', 'data/chunk-000/file-000.parquet'];

/**
 * Refuses a `target` the dataset cannot be written to, before anything is read or written: one that is there and is not
 * an empty folder, one whose parent is a file (ENOTDIR at the export's end), and one where a file of the dataset, the
 * videos of `videoKeys` too, would have a longer path or name than Linux takes (ENAMETOOLONG).
 */
export function checkTarget(target: string, videoKeys: readonly string[]): void {
  for (let path = target; ; path = dirname(path)) {
    let stat;
    try {
      stat = statSync(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code === 'ENOENT' || code === 'ENOTDIR') && dirname(path) !== path) continue;
      throw new DatasetError(`cannot write ${target}: ${errorText(error)}`);
    }
    if (path === target && !stat.isDirectory())
      throw new DatasetError(`${target} exists and is not a directory; give a new directory`);
    if (path === target && readdirSync(target).length > 0)
      throw new DatasetError(`${target} exists and is not empty; give a new directory`);
    if (!stat.isDirectory())
      throw new DatasetError(`cannot write ${target}: ${path} is not a folder; give a directory in a folder`);
    break;
  }
  const files = [...WRITTEN, ...videoKeys.map((key) => videoFile(key, 0, 0))];
  for (const root of [partialDir(target), target])
    for (const file of files) {
      const path = join(root, file);
      const tooLong = pathTooLong(path);
      if (tooLong)
        throw new DatasetError(
          `cannot write ${shownName(path)}: it has ${tooLong}; give a shorter OUT${videoKeys.length ? ' or camera key' : ''}`,
        );
    }
}

/** Refuses what cannot be written (before anything is); returns each episode's frame count. */
function checkEpisodes(
  target: string,
  fps: number,
  features: readonly FeatureSpec[],
  episodes: readonly EpisodeData[],
  videos: readonly VideoFeatureSpec[],
): number[] {
  if (!(fps > 0)) throw new DatasetError(`fps must be > 0, got ${fps}`);
  if (episodes.length === 0) throw new DatasetError('no episodes to write');
  checkTarget(
    target,
    videos.map((v) => v.key),
  );
  const reserved = new Set<string>(DEFAULT_FEATURES.map(([k]) => k));
  for (const f of [...features, ...videos]) {
    if (reserved.has(f.key)) throw new DatasetError(`feature "${f.key}" is reserved (LeRobot adds it to every frame)`);
    reserved.add(f.key);
  }
  if (features.length === 0 && videos.length === 0) throw new DatasetError('no features to write');
  return episodes.map((e, i) => {
    const counts = features.map((f) => e.frames[f.key]?.length ?? -1);
    // Video features stream their frames while they are encoded: the episode says how many it has.
    if (e.length !== undefined) counts.push(e.length);
    if (counts.some((c) => c !== counts[0]))
      throw new DatasetError(
        `episode ${i}: features have different frame counts (${features.map((f, j) => `${f.key} ${counts[j]}`).join(', ')}, the episode's length ${e.length})`,
      );
    if (counts[0]! <= 0) throw new DatasetError(`episode ${i} has no frames`);
    for (const f of features)
      for (const v of e.frames[f.key]!)
        if (v.length !== f.dim)
          throw new DatasetError(`episode ${i}: a ${f.key} frame has ${v.length} values, the feature ${f.dim}`);
    return counts[0]!;
  });
}

/**
 * The frames as rows in frameColumns' order, LeRobot's default features added, with each feature's stats over
 * the dataset and per episode.
 */
function framesWithStats(
  fps: number,
  features: readonly FeatureSpec[],
  episodes: readonly EpisodeData[],
  lengths: readonly number[],
  taskIndex: ReadonlyMap<string, number>,
): { frameRows: unknown[][]; stats: Record<string, FeatureStats>; episodeStats: Record<string, FeatureStats>[] } {
  const frameRows: unknown[][] = [];
  const statsRows: Record<string, ArrayLike<number>[]> = Object.fromEntries(
    [...features.map((f) => f.key), ...DEFAULT_FEATURES.map(([k]) => k)].map((k) => [k, []]),
  );
  const episodeStats: Record<string, FeatureStats>[] = [];
  let index = 0;
  episodes.forEach((e, ep) => {
    const perEpisode: Record<string, ArrayLike<number>[]> = Object.fromEntries(
      Object.keys(statsRows).map((k) => [k, []]),
    );
    for (let i = 0; i < lengths[ep]!; i++) {
      const row: unknown[] = [];
      for (const f of features) {
        const v = e.frames[f.key]![i]!;
        // A shape [1] feature is a scalar column in LeRobot's parquet.
        row.push(f.dim === 1 ? v[0] : v);
        perEpisode[f.key]!.push(v);
      }
      const defaults = {
        timestamp: Math.fround(i / fps),
        frame_index: i,
        episode_index: ep,
        index,
        task_index: taskIndex.get(e.task)!,
      };
      for (const [k, v] of Object.entries(defaults)) {
        row.push(v);
        perEpisode[k]!.push([v]);
      }
      frameRows.push(row);
      index++;
    }
    const s: Record<string, FeatureStats> = {};
    for (const [k, rows] of Object.entries(perEpisode)) {
      s[k] = computeStats(rows, rows[0]!.length);
      // One by one: spreading a long episode's rows into push overflows the call stack.
      for (const r of rows) statsRows[k]!.push(r);
    }
    episodeStats.push(s);
  });
  const stats: Record<string, FeatureStats> = {};
  for (const [k, rows] of Object.entries(statsRows)) stats[k] = computeStats(rows, rows[0]!.length);
  return { frameRows, stats, episodeStats };
}

/** meta/episodes' rows: each episode's task, length, place in the data and video files, and stats. */
function episodesIndex(
  episodes: readonly EpisodeData[],
  lengths: readonly number[],
  episodeStats: readonly Record<string, FeatureStats>[],
  videos: readonly WrittenVideo[],
): Record<string, unknown>[] {
  return episodes.map((e, ep) => {
    const from = lengths.slice(0, ep).reduce((a, b) => a + b, 0);
    const row: Record<string, unknown> = {
      episode_index: ep,
      tasks: [e.task],
      length: lengths[ep],
      'data/chunk_index': 0,
      'data/file_index': 0,
      dataset_from_index: from,
      dataset_to_index: from + lengths[ep]!,
      ...Object.assign({}, ...videos.map((v) => v.episodes[ep]!)),
      'meta/episodes/chunk_index': 0,
      'meta/episodes/file_index': 0,
    };
    for (const [k, s] of Object.entries(episodeStats[ep]!))
      for (const [stat, v] of Object.entries(s)) row[`stats/${k}/${stat}`] = v;
    for (const v of videos)
      for (const [stat, value] of Object.entries(imageStatsJson(v.episodeStats[ep]!)))
        row[`stats/${v.key}/${stat}`] = value;
    return row;
  });
}

/** The data file's columns: the features (a shape [1] one as a scalar), then LeRobot's defaults. */
function frameColumns(features: readonly FeatureSpec[]): ParquetColumn[] {
  return [
    ...features.map((f): ParquetColumn => ({ name: f.key, type: f.dim === 1 ? 'FLOAT' : 'FLOAT[]' })),
    ...DEFAULT_FEATURES.map(([name, dtype]): ParquetColumn => ({
      name,
      type: dtype === 'float32' ? 'FLOAT' : 'BIGINT',
    })),
  ];
}

/**
 * A meta/episodes column's type: LeRobot's stats are float64 lists (an image's per channel, [3, 1, 1]), counts int64
 * ones; a video's timestamps are float64.
 */
function episodeColumnType(key: string, videoKeys: ReadonlySet<string>): ColumnType {
  if (key.startsWith('stats/')) {
    if (key.endsWith('/count')) return 'BIGINT[]';
    return videoKeys.has(key.slice('stats/'.length, key.lastIndexOf('/'))) ? 'DOUBLE[][][]' : 'DOUBLE[]';
  }
  if (key.endsWith('_timestamp')) return 'DOUBLE';
  return key === 'tasks' ? 'VARCHAR[]' : 'BIGINT';
}

/**
 * LeRobot reads tasks.parquet with pandas, the task string being the frame's index: say so in the pandas
 * metadata, so pandas restores it as the index.
 */
async function writeTasksParquet(conn: DuckDBConnection, tasks: readonly string[], out: string): Promise<void> {
  const pandas = JSON.stringify({
    index_columns: ['task'],
    column_indexes: [],
    columns: [
      { name: 'task_index', field_name: 'task_index', pandas_type: 'int64', numpy_type: 'int64', metadata: null },
      { name: 'task', field_name: 'task', pandas_type: 'unicode', numpy_type: 'object', metadata: null },
    ],
    creator: { library: 'auraison-edge', version: '0.1.0' },
    pandas_version: '2.2.0',
  });
  const values = tasks.map((t, i) => `(${i}::BIGINT, ${sqlString(t)})`).join(', ');
  await conn.run(
    `COPY (SELECT * FROM (VALUES ${values}) AS t(task_index, task)) TO ${sqlString(out)} (FORMAT parquet, KV_METADATA {pandas: ${sqlString(pandas)}})`,
  );
}
