import { mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RawFrame } from './camera-frames.ts';
import { isInside } from './dataset-folder.ts';
import { DatasetError, type FeatureStats } from './dataset-types.ts';
import { ImageStats, sampleIndices } from './image-stats.ts';
import { StatsAggregator } from './stats.ts';
import { VideoEncoder, videoInfo, type VideoCodec } from './video-encoder.ts';

/** A camera feature to write as a video: each episode's frames, streamed (never the whole video in memory). */
export interface VideoFeatureSpec {
  key: string;
  /** Episode `e`'s frames in order: as many as the episode has frames. */
  frames(episode: number): AsyncIterable<RawFrame>;
}

/** What a video feature adds to the dataset's metadata. */
export interface WrittenVideo {
  key: string;
  width: number;
  height: number;
  /** Its entry in info.json's features. */
  feature: Record<string, unknown>;
  /** Each episode's `videos/<key>/...` columns of meta/episodes. */
  episodes: Record<string, number>[];
  /** Each episode's statistics (per channel), and the dataset's. */
  episodeStats: FeatureStats[];
  stats: FeatureStats;
}

export interface VideoWriteOptions {
  fps: number;
  codec: VideoCodec;
  /** Each episode's frame count. */
  lengths: readonly number[];
  /** A video file takes episodes until it is this large; the next episode starts a new file. */
  fileSizeMb: number;
  /** Files per chunk directory. */
  chunksSize: number;
  env?: NodeJS.ProcessEnv;
}

/** Where LeRobot v3.0 keeps a video file (info.json's video_path). */
export const VIDEO_PATH = 'videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4';

/** A video file's path in the dataset (VIDEO_PATH filled in). */
export const videoFile = (key: string, chunk: number, file: number): string =>
  `videos/${key}/chunk-${String(chunk).padStart(3, '0')}/file-${String(file).padStart(3, '0')}.mp4`;

/**
 * Encodes every video feature into `root`, all cameras at once (an ffmpeg each). When one fails the others are
 * stopped and the first error is thrown; the caller removes `root`.
 */
export async function writeVideos(
  root: string,
  videos: readonly VideoFeatureSpec[],
  options: VideoWriteOptions,
): Promise<WrittenVideo[]> {
  const stop = new AbortController();
  const results = await Promise.allSettled(
    videos.map((v) =>
      writeVideo(root, v, options, stop.signal).catch((error: unknown) => {
        stop.abort();
        throw error;
      }),
    ),
  );
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return results.map((r) => (r as PromiseFulfilledResult<WrittenVideo>).value);
}

/**
 * One camera's episodes, one after another, in files of LeRobot's layout: an episode starting at frame F of a file
 * has from_timestamp F / fps and to_timestamp (F + length) / fps. Every frame has the first frame's size and layout.
 */
async function writeVideo(
  root: string,
  spec: VideoFeatureSpec,
  options: VideoWriteOptions,
  signal: AbortSignal,
): Promise<WrittenVideo> {
  const { fps, codec, lengths, fileSizeMb, chunksSize, env } = options;
  const { key } = spec;
  let first: RawFrame | undefined;
  let encoder: VideoEncoder | undefined;
  let [chunk, file] = [0, 0];
  const episodes: Record<string, number>[] = [];
  const episodeStats: FeatureStats[] = [];
  const total = lengths.reduce((a, b) => a + b, 0);
  const open = (frame: RawFrame): VideoEncoder => {
    const path = join(root, videoFile(key, chunk, file));
    // parseFeatureMapping refuses such a key; this keeps any other caller inside the dataset too.
    if (!isInside(join(root, 'videos'), path))
      throw new DatasetError(`feature ${key}: its video would be written at ${path}, outside the dataset ${root}`);
    mkdirSync(dirname(path), { recursive: true });
    const { width, height, pixFmt } = frame;
    const what = `encoding ${key} (${codec})`;
    return new VideoEncoder({ path, width, height, pixFmt, fps, codec, env, what, maxFrames: total });
  };
  try {
    for (const [e, length] of lengths.entries()) {
      // The file as ffmpeg has written it so far (none yet while the encoder starts).
      const written = encoder ? (statSync(encoder.path, { throwIfNoEntry: false })?.size ?? 0) : 0;
      if (encoder && written >= fileSizeMb * 1024 * 1024) {
        await encoder.finish();
        encoder = undefined;
        [chunk, file] = file + 1 >= chunksSize ? [chunk + 1, 0] : [chunk, file + 1];
      }
      const from = encoder?.frames ?? 0;
      const sampled = new Set(sampleIndices(length));
      const stats = new ImageStats();
      let i = 0;
      for await (const frame of spec.frames(e)) {
        if (signal.aborted) throw new DatasetError(`encoding ${key}: stopped, another camera failed`);
        if (!first) first = frame;
        else checkSameSize(key, first, frame);
        encoder ??= open(frame);
        await encoder.write(frame.data);
        if (sampled.has(i)) stats.add(frame);
        i++;
      }
      if (i !== length)
        throw new DatasetError(`feature ${key}: episode ${e} has ${i} camera frames, the other features ${length}`);
      episodes.push({
        [`videos/${key}/chunk_index`]: chunk,
        [`videos/${key}/file_index`]: file,
        [`videos/${key}/from_timestamp`]: from / fps,
        [`videos/${key}/to_timestamp`]: (from + length) / fps,
      });
      episodeStats.push(stats.result());
    }
    await encoder?.finish();
    encoder = undefined;
  } finally {
    await encoder?.kill();
  }
  const aggregate = new StatsAggregator();
  for (const s of episodeStats) aggregate.add(s);
  const { width, height } = first!;
  return {
    key,
    width,
    height,
    feature: {
      dtype: 'video',
      shape: [height, width, 3],
      names: ['height', 'width', 'channels'],
      info: videoInfo(codec, width, height, fps),
    },
    episodes,
    episodeStats,
    stats: aggregate.result(),
  };
}

/** A video has one frame size and one pixel layout: a camera that changes either mid-export is refused. */
function checkSameSize(key: string, first: RawFrame, frame: RawFrame): void {
  if (frame.width === first.width && frame.height === first.height && frame.pixFmt === first.pixFmt) return;
  throw new DatasetError(
    `feature ${key}: ${frame.where} is ${frame.width}x${frame.height} ${frame.pixFmt}, but ${first.where} was ${first.width}x${first.height} ${first.pixFmt}: ` +
      'a video has one frame size and pixel layout; export the windows before and after the change as separate datasets',
  );
}

/** Per-channel statistics as LeRobot writes an image feature's: each value a [[x]] (shape [3, 1, 1]), count as is. */
export function imageStatsJson(stats: FeatureStats): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(stats).map(([k, v]) => [k, k === 'count' ? v : (v as number[]).map((x) => [[x]])]),
  );
}
