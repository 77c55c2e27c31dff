import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import {
  DatasetError,
  flattenNames,
  type FeatureStats,
  type LeRobotDatasetSummary,
  type LeRobotEpisode,
  type LeRobotFeature,
  type LeRobotTask,
} from './dataset-types.ts';
import { queryRows, sqlIdent, sqlString, withDuckDB } from './duckdb.ts';
import { aggregateStats } from './stats.ts';

interface InfoJson {
  codebase_version?: string;
  robot_type?: string | null;
  fps?: number;
  total_episodes?: number;
  total_frames?: number;
  features?: Record<string, { dtype: string; shape: number[]; names?: unknown; info?: Record<string, unknown> }>;
}

function readJson<T>(path: string): T {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (error) {
    throw new DatasetError(`cannot read ${path}: ${(error as Error).message}`);
  }
}

function readJsonLines<T>(path: string): T[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  return lines.flatMap((line, i) => {
    if (line.trim() === '') return [];
    try {
      return [JSON.parse(line) as T];
    } catch (error) {
      throw new DatasetError(`${path} line ${i + 1} is not JSON: ${(error as Error).message}`);
    }
  });
}

/** Files under `dir` (recursively) whose name ends with `suffix`, sorted. */
export function listFiles(dir: string, suffix: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.name.endsWith(suffix)) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

const parquetList = (files: string[]): string => `[${files.map(sqlString).join(', ')}]`;

/** The dataset's version from meta/info.json: v2.0, v2.1 or v3.0. */
export function datasetVersion(root: string): string {
  const infoPath = join(root, 'meta', 'info.json');
  if (!existsSync(infoPath)) {
    throw new DatasetError(`${root} is not a LeRobot dataset: no meta/info.json${existsSync(root) && statSync(root).isDirectory() ? '' : ' (the directory does not exist)'}`);
  }
  const version = readJson<InfoJson>(infoPath).codebase_version;
  if (!version) throw new DatasetError(`${infoPath} has no codebase_version`);
  return version;
}

/**
 * Reads a LeRobot dataset's metadata (v2.0/v2.1: JSON lines; v3.0: parquet) and counts its frames from the
 * data files, so a dataset whose metadata disagrees with its data says so.
 */
export async function readLeRobotDataset(root: string): Promise<LeRobotDatasetSummary> {
  const version = datasetVersion(root);
  const info = readJson<InfoJson>(join(root, 'meta', 'info.json'));
  const major = version.replace(/^v/, '').split('.')[0];
  if (major !== '2' && major !== '3') throw new DatasetError(`${root}: codebase_version ${version} is not supported (v2.0, v2.1 and v3.0 are)`);
  const features: Record<string, LeRobotFeature> = {};
  for (const [key, f] of Object.entries(info.features ?? {})) {
    features[key] = { dtype: f.dtype, shape: f.shape, names: flattenNames(f.names), ...(f.info ? { info: f.info } : {}) };
  }
  const dataFiles = listFiles(join(root, 'data'), '.parquet');
  const videoFiles = listFiles(join(root, 'videos'), '.mp4');
  const warnings: string[] = [];
  return withDuckDB(async (conn) => {
    const { episodes, tasks, stats } = major === '2' ? readV2Meta(root) : await readV3Meta(conn, root);
    let frames = 0;
    if (dataFiles.length > 0) {
      const rows = await queryRows(conn, `SELECT count(*) AS n FROM read_parquet(${parquetList(dataFiles)})`);
      frames = Number(rows[0]!.n);
    } else {
      warnings.push('no data parquet files under data/');
    }
    if (info.total_frames !== undefined && info.total_frames !== frames) warnings.push(`info.json says ${info.total_frames} frames, the data files hold ${frames}`);
    if (info.total_episodes !== undefined && info.total_episodes !== episodes.length) warnings.push(`info.json says ${info.total_episodes} episodes, the episode metadata lists ${episodes.length}`);
    const lengthSum = episodes.reduce((a, e) => a + e.length, 0);
    if (episodes.length > 0 && lengthSum !== frames) warnings.push(`episode lengths sum to ${lengthSum}, the data files hold ${frames} frames`);
    return {
      root,
      version,
      robotType: info.robot_type ?? null,
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
      warnings,
    };
  });
}

function readV2Meta(root: string): { episodes: LeRobotEpisode[]; tasks: LeRobotTask[]; stats: Record<string, FeatureStats> } {
  const meta = join(root, 'meta');
  const episodes = existsSync(join(meta, 'episodes.jsonl'))
    ? readJsonLines<{ episode_index: number; length: number; tasks?: string[] }>(join(meta, 'episodes.jsonl')).map((e) => ({ episode_index: e.episode_index, length: e.length, tasks: e.tasks ?? [] }))
    : [];
  const tasks = existsSync(join(meta, 'tasks.jsonl')) ? readJsonLines<LeRobotTask>(join(meta, 'tasks.jsonl')) : [];
  let stats: Record<string, FeatureStats> = {};
  if (existsSync(join(meta, 'stats.json'))) {
    stats = readJson<Record<string, FeatureStats>>(join(meta, 'stats.json'));
  } else if (existsSync(join(meta, 'episodes_stats.jsonl'))) {
    // v2.1 keeps statistics per episode; the dataset's are their aggregate.
    const per = readJsonLines<{ stats: Record<string, FeatureStats> }>(join(meta, 'episodes_stats.jsonl'));
    const keys = new Set(per.flatMap((p) => Object.keys(p.stats)));
    for (const key of keys) stats[key] = aggregateStats(per.map((p) => flatStats(p.stats[key])).filter((s): s is FeatureStats => !!s));
  }
  return { episodes, tasks, stats };
}

/** Image statistics are nested per channel ([[[x]]]); flatten every statistic to a vector. */
function flatStats(s: FeatureStats | undefined): FeatureStats | undefined {
  if (!s) return undefined;
  const out: FeatureStats = {};
  for (const [k, v] of Object.entries(s)) if (Array.isArray(v)) out[k as keyof FeatureStats] = (v as unknown[]).flat(3) as number[];
  return out;
}

async function readV3Meta(conn: DuckDBConnection, root: string): Promise<{ episodes: LeRobotEpisode[]; tasks: LeRobotTask[]; stats: Record<string, FeatureStats> }> {
  const meta = join(root, 'meta');
  const tasksPath = join(meta, 'tasks.parquet');
  let tasks: LeRobotTask[] = [];
  if (existsSync(tasksPath)) {
    const rows = await queryRows(conn, `SELECT * FROM read_parquet(${sqlString(tasksPath)})`);
    // pandas writes the task string as the frame's index: a column `task`, or `__index_level_0__` when unnamed.
    tasks = rows.map((r) => ({ task_index: Number(r.task_index), task: String(r.task ?? r.__index_level_0__ ?? '') })).sort((a, b) => a.task_index - b.task_index);
  }
  const episodeFiles = listFiles(join(meta, 'episodes'), '.parquet');
  let episodes: LeRobotEpisode[] = [];
  if (episodeFiles.length > 0) {
    const rows = await queryRows(conn, `SELECT episode_index, length, tasks FROM read_parquet(${parquetList(episodeFiles)}) ORDER BY episode_index`);
    episodes = rows.map((r) => ({ episode_index: Number(r.episode_index), length: Number(r.length), tasks: Array.isArray(r.tasks) ? r.tasks.map(String) : [] }));
  }
  const stats = existsSync(join(meta, 'stats.json')) ? readJson<Record<string, FeatureStats>>(join(meta, 'stats.json')) : {};
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
  const files = listFiles(join(root, 'data'), '.parquet');
  if (files.length === 0) throw new DatasetError(`${root} has no data parquet files under data/`);
  return withDuckDB(async (conn) => {
    const available = (await queryRows(conn, `DESCRIBE SELECT * FROM read_parquet(${parquetList(files)})`)).map((r) => String(r.column_name));
    for (const f of features) {
      if (!available.includes(f)) throw new DatasetError(`${root} has no column "${f}" in its data (columns: ${available.join(', ')})`);
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
        columns[f]!.push(Array.isArray(v) ? Float32Array.from(v as number[]) : Float32Array.of(Number(v)));
      }
    }
    return { episodeIndex: rows.map((r) => Number(r.episode_index)), frameIndex: rows.map((r) => Number(r.frame_index)), columns };
  });
}

