import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { errorText } from '../../../daemon/util/index.ts';
import type { DatasetFolder } from './dataset-folder.ts';
import {
  DatasetError,
  flattenNames,
  type FeatureStats,
  type LeRobotEpisode,
  type LeRobotFeature,
} from './dataset-types.ts';
import { parsePythonJson } from '../../../daemon/util/index.ts';
import { MAX_FIELD_WIDTH, MAX_PATH_BYTES, shownName } from './dataset-limits.ts';

/**
 * Validation of LeRobot metadata as read from JSON: every value is `unknown` until checked here, and a
 * malformed one is a DatasetError naming the file, the line and the key, never a JS TypeError.
 */

export interface InfoJson {
  codebase_version: string;
  robot_type: string | null;
  fps?: number;
  total_episodes?: number;
  total_frames?: number;
  /**
   * v2.x: where each episode's data file is, e.g. data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet.
   */
  data_path?: string;
  chunks_size?: number;
  /** v2.x: where each episode's video of each video feature is ({video_key}); v3.0: per file. */
  video_path?: string | null;
  total_videos?: number;
  features: Record<string, LeRobotFeature>;
}

/**
 * A JSON file of the dataset in `folder`, as LeRobot's Python writes it (Infinity and NaN bare), read through
 * DatasetFolder.open; one that can't be read is a DatasetError, one that is not safe to an UnsafeDatasetError.
 */
export function readJson(folder: DatasetFolder, path: string): unknown {
  const file = folder.open(path);
  let text: string;
  try {
    text = readFileSync(file.fd, 'utf8');
  } catch (error) {
    throw new DatasetError(`cannot read ${path}: ${errorText(error)}`);
  } finally {
    file.close();
  }
  try {
    return parsePythonJson(text);
  } catch (error) {
    throw new DatasetError(`cannot read ${path}: ${errorText(error)}`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const shown = (v: unknown): string => (v === undefined ? 'nothing' : (JSON.stringify(v)?.slice(0, 60) ?? String(v)));
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** Checks meta/info.json (parsed) and returns its fields typed; `where` is the file, for messages. */
export function parseInfo(value: unknown, where: string): InfoJson {
  if (!isObject(value)) throw new DatasetError(`${where}: expected a JSON object, got ${shown(value)}`);
  const fail = (key: string, expected: string): never => {
    throw new DatasetError(
      `${where}: ${key}: ${value[key] === undefined && !key.includes('.') ? 'missing' : `expected ${expected}, got ${shown(value[key])}`}`,
    );
  };
  const version = value.codebase_version;
  if (version === undefined) throw new DatasetError(`${where} has no codebase_version`);
  if (typeof version !== 'string') fail('codebase_version', 'a string such as "v2.1"');
  const robot = value.robot_type ?? null;
  if (robot !== null && typeof robot !== 'string') fail('robot_type', 'a string or null');
  if (value.fps !== undefined && !(typeof value.fps === 'number' && value.fps > 0 && Number.isFinite(value.fps)))
    fail('fps', 'a number > 0');
  if (value.data_path !== undefined && typeof value.data_path !== 'string') fail('data_path', 'a path template');
  if (typeof value.data_path === 'string') checkPathTemplate(value.data_path, 'data_path', where);
  if (value.chunks_size !== undefined && !(isCount(value.chunks_size) && value.chunks_size > 0))
    fail('chunks_size', 'a whole number > 0');
  if (value.video_path !== undefined && value.video_path !== null && typeof value.video_path !== 'string')
    fail('video_path', 'a path template or null');
  if (typeof value.video_path === 'string') checkPathTemplate(value.video_path, 'video_path', where);
  for (const key of ['total_episodes', 'total_frames', 'total_videos'])
    if (value[key] !== undefined && !isCount(value[key])) fail(key, 'a whole number >= 0');
  const features: Record<string, LeRobotFeature> = {};
  if (value.features !== undefined && !isObject(value.features)) fail('features', 'an object of features');
  for (const [key, f] of Object.entries((value.features ?? {}) as Record<string, unknown>)) {
    const at = `${where}: features.${key}`;
    if (!isObject(f)) throw new DatasetError(`${at}: expected an object with dtype and shape, got ${shown(f)}`);
    if (f.dtype === undefined) throw new DatasetError(`${at}.dtype: missing`);
    if (typeof f.dtype !== 'string')
      throw new DatasetError(`${at}.dtype: expected a string such as "float32", got ${shown(f.dtype)}`);
    if (f.shape === undefined) throw new DatasetError(`${at}.shape: missing`);
    if (!Array.isArray(f.shape) || !f.shape.every(isCount))
      throw new DatasetError(`${at}.shape: expected a list of whole numbers such as [26], got ${shown(f.shape)}`);
    let names: string[] | null;
    try {
      names = flattenNames(f.names);
    } catch (error) {
      throw new DatasetError(`${at}.names: ${errorText(error)}`);
    }
    if (f.info !== undefined && !isObject(f.info))
      throw new DatasetError(`${at}.info: expected an object, got ${shown(f.info)}`);
    features[key] = {
      dtype: f.dtype,
      shape: f.shape as number[],
      names,
      ...(f.info ? { info: f.info as Record<string, unknown> } : {}),
    };
  }
  return {
    codebase_version: version as string,
    robot_type: robot as string | null,
    ...(value.fps !== undefined ? { fps: value.fps as number } : {}),
    ...(value.total_episodes !== undefined ? { total_episodes: value.total_episodes as number } : {}),
    ...(value.total_frames !== undefined ? { total_frames: value.total_frames as number } : {}),
    ...(value.data_path !== undefined ? { data_path: value.data_path as string } : {}),
    ...(value.chunks_size !== undefined ? { chunks_size: value.chunks_size as number } : {}),
    ...(typeof value.video_path === 'string' ? { video_path: value.video_path } : {}),
    ...(value.total_videos !== undefined ? { total_videos: value.total_videos as number } : {}),
    features,
  };
}

/** Checks one episode's metadata (a line of episodes.jsonl, or a row of v3.0 meta/episodes). */
export function parseEpisode(value: unknown, where: string): LeRobotEpisode {
  if (!isObject(value)) throw new DatasetError(`${where}: expected an object, got ${shown(value)}`);
  const index = typeof value.episode_index === 'bigint' ? Number(value.episode_index) : value.episode_index;
  const length = typeof value.length === 'bigint' ? Number(value.length) : value.length;
  if (!isCount(index))
    throw new DatasetError(`${where}: episode_index: expected a whole number >= 0, got ${shown(value.episode_index)}`);
  if (!isCount(length))
    throw new DatasetError(
      `${where}: length: expected a whole number >= 0, got ${shown(typeof value.length === 'bigint' ? String(value.length) : value.length)}`,
    );
  const tasks = value.tasks ?? [];
  if (!Array.isArray(tasks) || !tasks.every((t) => typeof t === 'string'))
    throw new DatasetError(`${where}: tasks: expected a list of strings, got ${shown(tasks)}`);
  return { episode_index: index, length, tasks: tasks as string[] };
}

/**
 * Checks a stats object ({feature: {stat: numbers}}): image statistics nest per channel ([[[x]]]), so every
 * statistic is flattened to a vector. A statistic that is not all numbers (Infinity and NaN are numbers) is left out,
 * with a warning.
 */
export function parseStats(value: unknown, where: string, warnings: string[]): Record<string, FeatureStats> {
  if (!isObject(value)) throw new DatasetError(`${where}: expected an object of features, got ${shown(value)}`);
  const out: Record<string, FeatureStats> = {};
  for (const [key, s] of Object.entries(value)) {
    if (!isObject(s)) throw new DatasetError(`${where}: ${key}: expected an object of statistics, got ${shown(s)}`);
    const stats: FeatureStats = {};
    for (const [stat, v] of Object.entries(s)) {
      if (!['min', 'max', 'mean', 'std', 'count'].includes(stat)) continue;
      const flat = Array.isArray(v) ? (v as unknown[]).flat(3) : [v];
      // Infinity and NaN are numbers as LeRobot writes them (Python's json): a LaserScan's max is +inf (REP 117).
      const bad = flat.findIndex((x) => typeof x !== 'number');
      if (bad >= 0 || flat.length === 0) {
        warnings.push(
          `${where}: ${key}.${stat} ${flat.length === 0 ? 'is empty' : `element ${bad} is ${shown(flat[bad])}, not a number`}; left out`,
        );
        continue;
      }
      stats[stat as keyof FeatureStats] = flat as number[];
    }
    out[key] = stats;
  }
  return out;
}

/**
 * Calls `fn` with each non-empty line of a JSON lines file, parsed, and its 1-based line number. Read line by
 * line: a v2.1 episodes_stats.jsonl of a large dataset is bigger than a string can be.
 */
export async function forEachJsonLine(
  folder: DatasetFolder,
  path: string,
  fn: (value: unknown, line: number) => void,
): Promise<void> {
  const { fd } = folder.open(path);
  // The stream closes the descriptor when it is destroyed.
  const input = createReadStream(path, { fd, encoding: 'utf8' });
  const lines = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const line of lines) {
      n++;
      if (line.trim() === '') continue;
      let value: unknown;
      try {
        value = parsePythonJson(line);
      } catch (error) {
        throw new DatasetError(`${path} line ${n} is not JSON: ${errorText(error)}`);
      }
      fn(value, n);
    }
  } catch (error) {
    if (error instanceof DatasetError) throw error;
    throw new DatasetError(`cannot read ${path}: ${errorText(error)}`);
  } finally {
    lines.close();
    input.destroy();
  }
}

/**
 * The data file a v2.x episode should be in, from info.json's data_path template
 * (`{episode_chunk:03d}`, `{episode_index:06d}`: Python format fields, zero-padded).
 */
export function episodeDataPath(template: string, episodeIndex: number, chunksSize: number): string {
  return formatPath(template, { episode_chunk: Math.floor(episodeIndex / chunksSize), episode_index: episodeIndex });
}

/** `{name}`, `{name:03d}` or `{name:3d}` in a path template, as formatPath fills it. */
const FIELD = /\{(\w+)(?::0?(\d+)d)?\}/g;

/**
 * Checks a path template of info.json (`key`, in `where`) before any is filled in: no number padded wider than
 * MAX_FIELD_WIDTH (`{episode_index:99999999d}` made each path 100 MB) and no longer than a path may be.
 */
function checkPathTemplate(template: string, key: string, where: string): void {
  const fix = `fix ${key} in meta/info.json (LeRobot writes e.g. {episode_index:06d})`;
  const bytes = Buffer.byteLength(template, 'utf8');
  if (bytes > MAX_PATH_BYTES)
    throw new DatasetError(`${where}: ${key} is ${bytes} bytes, more than a path may be (${MAX_PATH_BYTES}): ${fix}`);
  for (const [field, , width] of template.matchAll(FIELD))
    if (width !== undefined && Number(width) > MAX_FIELD_WIDTH)
      throw new DatasetError(
        `${where}: ${key}: ${shownName(field)} pads a number to ${width} digits, more than any index has (at most ${MAX_FIELD_WIDTH}): ${fix}`,
      );
}

/** A path template of info.json with its fields filled in: `{chunk_index:03d}` zero-padded, `{video_key}` as it is. */
export function formatPath(template: string, fields: Record<string, number | string>): string {
  return template.replace(FIELD, (whole, name: string, width?: string) => {
    const v = fields[name];
    return v === undefined ? whole : String(v).padStart(Number(width ?? 0), '0');
  });
}
