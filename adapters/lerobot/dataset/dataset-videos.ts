import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DatasetFolder, UnsafeDatasetError } from './dataset-folder.ts';
import { forEachJsonLine, formatPath, parseEpisode, parseInfo, readJson } from './dataset-metadata.ts';
import { DatasetError, type LeRobotFeature } from './dataset-types.ts';
import { checkEpisodeCount, MAX_VIDEO_PIXELS } from './dataset-limits.ts';
import { withParquet } from './dataset-parquet.ts';
import { sqlIdent } from './duckdb.ts';

/** Where one episode of one video feature is: its file and its span there (frame i at from + i / fps). */
export interface EpisodeVideo {
  episode: number;
  /** The .mp4, absolute. */
  path: string;
  fromTimestamp: number;
  toTimestamp: number;
  /** The episode's frames. */
  length: number;
}

/** A video feature as info.json declares it. */
export interface VideoFeature {
  key: string;
  /** From its info (video.width/height), else its shape and names. */
  width: number;
  height: number;
  codec: string | null;
  pixFmt: string | null;
  fps: number;
}

/** A dataset's video features and where each episode of each is. */
export interface DatasetVideos {
  version: string;
  fps: number;
  features: VideoFeature[];
  episodes: Map<string, EpisodeVideo[]>;
}

/**
 * The video features of a LeRobot dataset and their episodes' files. v3.0 packs episodes into files: meta/episodes
 * says which file and from/to timestamps (`videos/<key>/chunk_index`, `file_index`, `from_timestamp`,
 * `to_timestamp`); v2.x keeps a file per episode (info.json's video_path), each from 0. Every file is checked against
 * the dataset's folder (DatasetFolder): one outside it, or not a regular file, refuses the dataset.
 */
export async function datasetVideos(root: string): Promise<DatasetVideos> {
  const infoPath = join(root, 'meta', 'info.json');
  if (!existsSync(infoPath)) throw new DatasetError(`${root} is not a LeRobot dataset: no meta/info.json`);
  const folder = new DatasetFolder(root);
  const info = parseInfo(readJson(folder, folder.file(infoPath)), infoPath);
  const fps = info.fps ?? 0;
  const features = Object.entries(info.features)
    .filter(([, f]) => f.dtype === 'video')
    .map(([key, f]) => videoFeature(key, f, fps, infoPath));
  const episodes = new Map<string, EpisodeVideo[]>(features.map((f) => [f.key, []]));
  if (features.length === 0) return { version: info.codebase_version, fps, features, episodes };
  if (!(fps > 0)) throw new DatasetError(`${infoPath}: fps: missing; a dataset with videos needs it`);
  const template = info.video_path;
  if (!template) throw new DatasetError(`${infoPath}: video_path: missing; a dataset with video features needs it`);
  if (info.codebase_version.replace(/^v/, '').startsWith('2')) {
    const path = join(root, 'meta', 'episodes.jsonl');
    if (!existsSync(path)) throw new DatasetError(`${root}: no meta/episodes.jsonl`);
    let listed = 0;
    await forEachJsonLine(folder, folder.file(path), (v, line) => {
      checkEpisodeCount(++listed, path, features.length);
      const e = parseEpisode(v, `${path} line ${line}`);
      for (const f of features) {
        const chunk = Math.floor(e.episode_index / (info.chunks_size ?? 1000));
        const file = formatPath(template, { episode_chunk: chunk, episode_index: e.episode_index, video_key: f.key });
        episodes.get(f.key)!.push({
          episode: e.episode_index,
          path: folder.named(file, 'video_path', `${f.key} episode ${e.episode_index}`),
          fromTimestamp: 0,
          toTimestamp: e.length / fps,
          length: e.length,
        });
      }
    });
    return { version: info.codebase_version, fps, features, episodes };
  }
  const files = folder.list(join('meta', 'episodes'), '.parquet');
  if (files.length === 0) throw new DatasetError(`${root}: no parquet files under meta/episodes`);
  const parts = ['chunk_index', 'file_index', 'from_timestamp', 'to_timestamp'];
  // Only the columns needed: meta/episodes also holds every feature's statistics, per episode.
  const rows = await withParquet(folder, files, async (parquet) => {
    const { from } = parquet;
    const have = new Set((await parquet.rows(`DESCRIBE SELECT * FROM ${from}`)).map((r) => String(r.column_name)));
    const wanted = ['episode_index', 'length', ...features.flatMap((f) => parts.map((p) => `videos/${f.key}/${p}`))];
    const missing = wanted.filter((c) => !have.has(c));
    if (missing.length > 0)
      throw new DatasetError(`${files[0]} has no column ${missing.join(', ')}, which its video features need`);
    checkEpisodeCount(
      Number((await parquet.rows(`SELECT count(*) AS n FROM ${from}`))[0]!.n),
      files[0]!,
      features.length,
    );
    return parquet.rows(`SELECT ${wanted.map(sqlIdent).join(', ')} FROM ${from} ORDER BY episode_index`);
  });
  for (const [i, r] of rows.entries()) {
    const e = parseEpisode(r, `${files[0]} row ${i}`);
    for (const f of features) {
      const column = (name: string) => r[`videos/${f.key}/${name}`];
      const [chunk, file, from, to] = parts.map(column);
      if ([chunk, file, from, to].some((v) => v === null || v === undefined))
        throw new DatasetError(
          `${files[0]}: episode ${e.episode_index} has no videos/${f.key}/chunk_index, file_index, from_timestamp and to_timestamp`,
        );
      const fields = { chunk_index: Number(chunk), file_index: Number(file), video_key: f.key };
      episodes.get(f.key)!.push({
        episode: e.episode_index,
        path: folder.named(formatPath(template, fields), 'video_path', `${f.key} episode ${e.episode_index}`),
        fromTimestamp: Number(from),
        toTimestamp: Number(to),
        length: e.length,
      });
    }
  }
  return { version: info.codebase_version, fps, features, episodes };
}

function videoFeature(key: string, f: LeRobotFeature, fps: number, infoPath: string): VideoFeature {
  const info = f.info ?? {};
  const names = f.names ?? [];
  // Old v2 datasets name the axes [channels, height, width]; LeRobot writes [height, width, channels].
  const at = (axis: string, fallback: number) =>
    names.includes(axis) ? f.shape[names.indexOf(axis)] : f.shape[fallback];
  const number = (v: unknown, or: number | undefined) => (typeof v === 'number' ? v : (or ?? 0));
  const width = number(info['video.width'], at('width', 1));
  const height = number(info['video.height'], at('height', 0));
  if (width * height > MAX_VIDEO_PIXELS)
    throw new UnsafeDatasetError(
      `${infoPath}: features.${key} declares ${width}x${height} frames, more than any camera makes (at most ${MAX_VIDEO_PIXELS} pixels, 8K): ` +
        `refused before decoding; fix its video.width, video.height and shape to the video's size`,
    );
  return {
    key,
    width,
    height,
    codec: typeof info['video.codec'] === 'string' ? info['video.codec'] : null,
    pixFmt: typeof info['video.pix_fmt'] === 'string' ? info['video.pix_fmt'] : null,
    fps: number(info['video.fps'], fps),
  };
}
