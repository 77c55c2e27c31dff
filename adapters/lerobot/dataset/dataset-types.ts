/** A feature of a LeRobot dataset as info.json declares it. */
export interface LeRobotFeature {
  dtype: string;
  shape: number[];
  /** Element names, flattened: v2.1 datasets may nest them ([[...]] or {motors: [...]}). */
  names: string[] | null;
  info?: Record<string, unknown>;
}

export interface FeatureStats {
  min?: number[];
  max?: number[];
  mean?: number[];
  std?: number[];
  count?: number[];
}

export interface LeRobotEpisode {
  episode_index: number;
  length: number;
  tasks: string[];
}

export interface LeRobotTask {
  task_index: number;
  task: string;
}

/** What `lerobot inspect` reports, for v2.1 and v3.0 alike. */
export interface LeRobotDatasetSummary {
  root: string;
  version: string;
  robotType: string | null;
  fps: number;
  totalEpisodes: number;
  totalFrames: number;
  features: Record<string, LeRobotFeature>;
  episodes: LeRobotEpisode[];
  tasks: LeRobotTask[];
  /** Dataset-wide statistics: meta/stats.json (v3.0) or aggregated from episodes_stats.jsonl (v2.1). */
  stats: Record<string, FeatureStats>;
  /** Frames counted in the data parquet files (checked against info.json). */
  frames: number;
  dataFiles: number;
  videoFiles: number;
  /** The video features: size and codec (info.json), and how many episodes say where their video is. */
  videos: {
    key: string;
    width: number;
    height: number;
    codec: string | null;
    pixFmt: string | null;
    episodes: number;
    files: number;
  }[];
  /** With `inspect --decode`: every episode of every video feature decoded, frames counted, failures named. */
  decoded?: { key: string; episodes: number; frames: number; failed: { episode: number; error: string }[] }[];
  /** Disagreements between metadata and data, in words. */
  warnings: string[];
}

export class DatasetError extends Error {
  override name = 'DatasetError';
}

/**
 * Deeper nesting than any dataset writes ([[...]] or {motors: [...]}); past it, names are refused, not recursed into.
 */
const MAX_NAMES_DEPTH = 8;

/** Flattens names as datasets write them: a list, a nested list, or an object of lists. */
export function flattenNames(names: unknown, depth = 0): string[] | null {
  if (names === null || names === undefined) return null;
  if (depth > MAX_NAMES_DEPTH)
    throw new DatasetError(
      `nested more than ${MAX_NAMES_DEPTH} levels deep; expected a list of names, a nested list or an object of lists`,
    );
  if (typeof names === 'string') return [names];
  if (Array.isArray(names)) return names.flatMap((n) => flattenNames(n, depth + 1) ?? []);
  if (typeof names === 'object')
    return Object.values(names as Record<string, unknown>).flatMap((n) => flattenNames(n, depth + 1) ?? []);
  return [String(names)];
}
