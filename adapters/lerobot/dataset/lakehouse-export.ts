import { existsSync } from 'node:fs';
import { vanishedFile } from '../../../daemon/lakehouse/index.ts';
import type { CameraSamples } from './bag-images.ts';
import { DEFAULT_MAX_FRAMES } from './dataset-limits.ts';
import { DatasetError } from './dataset-types.ts';
import { withDuckDB } from './duckdb.ts';
import { openLakehouse, readSeries, relationNames, type FeatureMapping, type Series } from './lakehouse-series.ts';
import { gapWarning, sampleGaps } from './sample-gaps.ts';
import type { VideoCodec } from './video-encoder.ts';
import {
  checkTarget,
  writeLeRobotV30,
  type EpisodeData,
  type FeatureSpec,
  type VideoFeatureSpec,
} from './v30-writer.ts';

export { parseFeatureMapping, type FeatureMapping } from './lakehouse-series.ts';

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
   * per topic, named by the topic, with a `log_time` column in ns (no cameras: their pixels are in the bags).
   */
  database: string;
  out: string;
  fps: number;
  features: FeatureMapping[];
  episodes: EpisodeWindow[];
  robotType?: string | null;
  /** The most frames all windows may resample to (the export holds them in memory). Default DEFAULT_MAX_FRAMES. */
  maxFrames?: number;
  /** The codec of camera features' videos (default av1, as LeRobot). */
  videoCodec?: VideoCodec;
  /** The environment ffmpeg runs in (its PATH finds ffmpeg). */
  env?: NodeJS.ProcessEnv;
  /** Runs once the lakehouse's views are defined, before any is read (tests delete a file there, as retention may). */
  viewsDefined?: () => Promise<void> | void;
}

export interface ExportReport {
  out: string;
  episodes: number;
  frames: number;
  features: {
    key: string;
    relation: string;
    columns: string[];
    dim: number;
    samples: number;
    /** A camera feature's video: its frame size and codec. */
    video?: { width: number; height: number; codec: VideoCodec };
  }[];
  /** Frames dropped at the start of an episode, before every feature had a sample. */
  leadingFramesDropped: number;
  /** Frames dropped at the end of an episode, after the last sample of the feature that ends first. */
  trailingFramesDropped: number;
  /** Each episode's frame 0 as a time in the window (ns since the epoch, decimal): frame k is at it + k / fps. */
  episodeStartNs: string[];
  /**
   * What the export did to the data beyond resampling, in words (NULL samples skipped, episodes cut short, a
   * feature's sample held across a gap far longer than its period: drives merged into one episode).
   */
  warnings: string[];
}

/**
 * Exports recorded data from the lakehouse as a LeRobot v3.0 dataset. A feature comes from columns of a
 * decoded topic projection (a relation named by its topic, with a `log_time` column in ns), or is a camera topic
 * (sensor_msgs/msg/Image or CompressedImage), which becomes a video feature encoded by ffmpeg from the recorded
 * bags. Every episode window is resampled to the dataset's fps by sample-and-hold: frame k takes, for each
 * feature, the latest sample at or before start + k / fps. Values are never interpolated, so a command is never
 * invented, and a camera frame is the image that had arrived by then.
 */
export async function exportLakehouseToLeRobot(options: ExportOptions): Promise<ExportReport> {
  const { database, out, fps, features, episodes, robotType = null, videoCodec = 'av1', env } = options;
  const counts = checkExport(options);
  const minStart = episodes.reduce((a, e) => (e.startNs < a ? e.startNs : a), episodes[0]!.startNs);
  const maxEnd = episodes.reduce((a, e) => (e.endNs > a ? e.endNs : a), episodes[0]!.endNs);
  const { series, warnings } = await readAllSeries(database, features, minStart, maxEnd, options.viewsDefined);
  series.forEach((s, j) => {
    if (s.kind === 'numeric' && s.nulls) {
      warnings.push(
        `feature ${features[j]!.key}: ${s.nulls.rows} of ${s.nulls.rows + s.times.length} rows of ${features[j]!.relation} have column "${s.nulls.column}" NULL ` +
          `(the first at ${s.nulls.firstNs} ns); they were skipped, so frames there hold the sample before`,
      );
    }
  });
  let dropped = 0;
  let trailing = 0;
  const data: EpisodeData[] = [];
  const picks: number[][][] = [];
  const starts: string[] = [];
  for (const [i, e] of episodes.entries()) {
    const episode = resampleEpisode(e, counts[i]!, 1e9 / fps, series);
    dropped += episode.dropped;
    if (episode.picks[0]!.length === 0)
      throw new DatasetError(`episode ${i} (${e.startNs}..${e.endNs}) has no frame where every feature has a sample`);
    const { cut, endNs } = episode;
    trailing += cut;
    // One frame cut is a feature sampled at about the frame rate whose last sample came before the window's last
    // frame: counted, not warned of in every episode.
    if (cut > 1) {
      warnings.push(
        `episode ${i}: feature ${features[episode.endsFirst]!.key} has no sample after ${endNs} ns (${(Number(endNs! - e.startNs) / 1e9).toFixed(3)} s into the window, which is ` +
          `${(Number(e.endNs - e.startNs) / 1e9).toFixed(3)} s): the episode ends there; ${cut} frames to the window's end were cut, not filled by holding its last sample`,
      );
    }
    features.forEach((f, j) => {
      const gaps = sampleGaps(series[j]!.times, e.startNs, e.endNs, 1e9 / fps);
      if (gaps.length > 0) warnings.push(gapWarning(i, f, gaps, 1e9 / fps));
    });
    const frames: EpisodeData['frames'] = {};
    series.forEach((s, j) => {
      if (s.kind === 'numeric') frames[features[j]!.key] = episode.picks[j]!.map((k) => s.values[k]!);
    });
    data.push({ task: e.task, frames, length: episode.picks[0]!.length });
    picks.push(episode.picks);
    starts.push(String(episode.firstNs));
  }
  const numeric = features.flatMap((f, j) => {
    const s = series[j]!;
    return s.kind === 'numeric' ? [{ f, s }] : [];
  });
  const specs: FeatureSpec[] = numeric.map(({ f, s }) => ({
    key: f.key,
    dim: s.dim,
    names: featureNames(f, s.dim),
  }));
  const videos: VideoFeatureSpec[] = features.flatMap((f, j) => {
    const s = series[j]!;
    if (s.kind !== 'camera') return [];
    const samples: CameraSamples = s.samples;
    return [{ key: f.key, frames: (episode: number) => samples.frames(picks[episode]![j]!) }];
  });
  await checkFrameSizes(features, series, picks);
  const written = await writeLeRobotV30(out, {
    fps,
    robotType,
    features: specs,
    episodes: data,
    videos,
    videoCodec,
    env,
  });
  return {
    out,
    episodes: written.episodes,
    frames: written.frames,
    features: features.map((f, j) => {
      const s = series[j]!;
      const video = written.videos.find((v) => v.key === f.key);
      return {
        ...f,
        dim: s.kind === 'numeric' ? s.dim : 0,
        samples: s.times.length,
        ...(video ? { video: { width: video.width, height: video.height, codec: videoCodec } } : {}),
      };
    }),
    leadingFramesDropped: dropped,
    trailingFramesDropped: trailing,
    episodeStartNs: starts,
    warnings,
  };
}

/** Refuses an export that can't be made, before anything is read; returns each window's frame count. */
function checkExport(options: ExportOptions): number[] {
  const { database, fps, features, episodes, maxFrames = DEFAULT_MAX_FRAMES } = options;
  if (!existsSync(database))
    throw new DatasetError(`lakehouse catalog ${database} does not exist (record or import data first, or give --db)`);
  if (features.length === 0) throw new DatasetError('give at least one --feature KEY=TOPIC:column');
  // LeRobot's videos run at a whole number of frames per second (its info's video.fps is an int).
  const camera = features.find((f) => f.columns.length === 0);
  if (camera && !Number.isInteger(fps))
    throw new DatasetError(
      `feature ${camera.key} is a camera, a video feature, and LeRobot's videos run at a whole number of frames per second: give --fps as one (it is ${fps})`,
    );
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
  checkTarget(
    options.out,
    features.filter((f) => f.columns.length === 0).map((f) => f.key),
  );
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
 * Each camera's first frame is no larger than a video frame may be, read from its header before anything is written
 * (each frame is checked again before it is decoded, and must be the first's size).
 */
async function checkFrameSizes(
  features: readonly FeatureMapping[],
  series: readonly Series[],
  picks: readonly number[][][],
): Promise<void> {
  for (const [j, s] of series.entries()) {
    const first = picks.find((episode) => episode[j]!.length > 0)?.[j]![0];
    if (s.kind !== 'camera' || first === undefined) continue;
    try {
      await s.samples.size(first);
    } catch (error) {
      if (error instanceof DatasetError) throw new DatasetError(`feature ${features[j]!.key}: ${error.message}`);
      throw error;
    }
  }
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
        // A camera's samples are listed in `messages` (an image is too large to decode into its topic's table).
        const cameras = features.some((f) => f.columns.length === 0) ? ['messages'] : [];
        await opened.views?.define([...cameras, ...features.flatMap((f) => relationNames(f.relation))]);
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
 * start + k * period; `picks[j]` holds feature j's sample index for each frame kept. Frames before every feature
 * has a sample are dropped (`dropped`; frame 0 is at `firstNs`); the episode ends at the last sample of the feature
 * that ends first (`endsFirst`, at `endNs`), the frames after it `cut`.
 */
function resampleEpisode(
  e: ExportOptions['episodes'][number],
  count: number,
  period: number,
  series: readonly Series[],
): {
  picks: number[][];
  dropped: number;
  firstNs: bigint;
  cut: number;
  endsFirst: number;
  endNs: bigint | undefined;
} {
  const picks: number[][] = series.map(() => []);
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
      if (picks[0]!.length === 0) dropped++;
      continue;
    }
    cursor.forEach((c, j) => picks[j]!.push(c));
  }
  return { picks, dropped, firstNs: e.startNs + BigInt(Math.round(dropped * period)), cut, endsFirst: endJ, endNs };
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

/**
 * info.json's names of a numeric feature: its joints (`joint.column` for several columns), or its columns where each
 * is one value; none for a list column read in its own order.
 */
function featureNames(f: FeatureMapping, dim: number): string[] | null {
  if (f.joints)
    return f.columns.length === 1 ? f.joints : f.columns.flatMap((c) => f.joints!.map((joint) => `${joint}.${c}`));
  return f.columns.length === dim ? f.columns : null;
}
