import { existsSync } from 'node:fs';
import { DatasetError } from './dataset-types.ts';
import { datasetVideos, type DatasetVideos, type EpisodeVideo } from './dataset-videos.ts';
import { FfmpegProcess } from './ffmpeg.ts';

/** One decoded frame of a video feature: rgb24, rows top first (height x width x 3), at the video's own size. */
export interface VideoFrame {
  /** The frame's index in its episode (its frame_index). */
  index: number;
  /** Seconds from the episode's start, as the dataset's timestamp column: index / fps. */
  timestamp: number;
  width: number;
  height: number;
  data: Uint8Array;
}

/** A video that does not decode as the dataset says: a missing or broken file, or fewer frames than the episode. */
export class VideoDecodeError extends DatasetError {
  override name = 'VideoDecodeError';
}

/** How decoding every episode of every video feature went (`lerobot inspect --decode`). */
export interface VideoDecodeReport {
  key: string;
  episodes: number;
  frames: number;
  /** The episodes that did not decode, each with why. */
  failed: { episode: number; error: string }[];
}

/**
 * Decodes the video features of a LeRobot dataset (v2.x or v3.0) with ffmpeg, an episode at a time: frame i of an
 * episode is the video's frame at from_timestamp + i / fps, as LeRobot's loader takes it. Frames come as rgb24 at
 * the size they were stored at; decoding runs in ffmpeg's process, and a reader that stops early ends it.
 */
export class VideoFrameReader {
  readonly root: string;
  readonly fps: number;
  /** The dataset's video feature keys. */
  readonly keys: string[];
  #videos: DatasetVideos;
  #env: NodeJS.ProcessEnv | undefined;
  #sizes = new Map<string, { width: number; height: number }>();

  private constructor(root: string, videos: DatasetVideos, env: NodeJS.ProcessEnv | undefined) {
    this.root = root;
    this.fps = videos.fps;
    this.keys = videos.features.map((f) => f.key);
    this.#videos = videos;
    this.#env = env;
  }

  /** Reads the dataset's metadata (info.json and its episodes) once; `env` is the one ffmpeg runs in. */
  static async open(root: string, options: { env?: NodeJS.ProcessEnv } = {}): Promise<VideoFrameReader> {
    return new VideoFrameReader(root, await datasetVideos(root), options.env);
  }

  /** Where each episode of `key` is. */
  episodes(key: string): readonly EpisodeVideo[] {
    const episodes = this.#videos.episodes.get(key);
    if (!episodes)
      throw new DatasetError(
        `${this.root} has no video feature ${JSON.stringify(key)} (its video features: ${this.keys.join(', ') || 'none'})`,
      );
    return episodes;
  }

  /** One episode's frames of one video feature, in order; throws VideoDecodeError when the video does not decode. */
  async *frames(key: string, episode: number): AsyncGenerator<VideoFrame> {
    const video = this.episodes(key).find((e) => e.episode === episode);
    if (!video) throw new DatasetError(`${this.root}: ${key} has no episode ${episode}`);
    const where = `${key} episode ${episode} (${video.path}, from ${video.fromTimestamp} s)`;
    if (!existsSync(video.path)) throw new VideoDecodeError(`${where}: the video file is missing`);
    const { width, height } = await this.#size(video.path, where);
    const size = width * height * 3;
    // Half a frame either side of each frame's time: which frames are the episode's does not hang on rounding.
    const half = 0.5 / this.fps;
    const from = video.fromTimestamp - half;
    const to = video.fromTimestamp + video.length / this.fps - half;
    const ffmpeg = new FfmpegProcess(
      'ffmpeg',
      [
        ...['-hide_banner', '-loglevel', 'error', '-nostdin'],
        // Seek to a second before the episode (ffmpeg decodes from the keyframe before it), keeping the file's times.
        ...['-ss', String(Math.max(0, from - 1)), '-copyts', '-i', video.path],
        ...['-map', '0:v:0', '-vf', `select='gte(t,${from})*lt(t,${to})'`, '-fps_mode', 'passthrough'],
        ...['-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
      ],
      { what: `decoding ${where}`, env: this.#env },
    );
    let index = 0;
    let frame = new Uint8Array(size);
    let filled = 0;
    let done = false;
    try {
      for await (const chunk of ffmpeg.stdout as AsyncIterable<Buffer>) {
        for (let at = 0; at < chunk.length;) {
          const n = Math.min(size - filled, chunk.length - at);
          frame.set(chunk.subarray(at, at + n), filled);
          filled += n;
          at += n;
          if (filled < size) continue;
          // Frames past the episode's length are counted, not given: the error below says how many there were.
          if (index < video.length) yield { index, timestamp: index / this.fps, width, height, data: frame };
          index++;
          frame = new Uint8Array(size);
          filled = 0;
        }
      }
      try {
        await ffmpeg.finish();
      } catch (error) {
        throw new VideoDecodeError((error as Error).message);
      }
      done = true;
    } finally {
      if (!done) await ffmpeg.kill();
    }
    if (index !== video.length || filled > 0)
      throw new VideoDecodeError(
        `${where}: decodes to ${index} frames${filled > 0 ? ' and a partial one' : ''}; the episode has ${video.length} (from ${video.fromTimestamp} s to ${video.toTimestamp} s at ${this.fps} fps)`,
      );
  }

  /** Decodes every episode of every video feature, counting frames and the episodes that fail; never throws for one. */
  async decodeAll(): Promise<VideoDecodeReport[]> {
    const reports: VideoDecodeReport[] = [];
    for (const key of this.keys) {
      const report: VideoDecodeReport = { key, episodes: 0, frames: 0, failed: [] };
      for (const e of this.episodes(key)) {
        try {
          for await (const _ of this.frames(key, e.episode)) report.frames++;
          report.episodes++;
        } catch (error) {
          if (!(error instanceof DatasetError)) throw error;
          report.failed.push({ episode: e.episode, error: error.message });
        }
      }
      reports.push(report);
    }
    return reports;
  }

  /** A video file's frame size, from ffprobe (what it holds, whatever info.json says). */
  async #size(path: string, where: string): Promise<{ width: number; height: number }> {
    const known = this.#sizes.get(path);
    if (known) return known;
    const probe = new FfmpegProcess(
      'ffprobe',
      ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', path],
      { what: `reading ${where}`, env: this.#env },
    );
    let out = '';
    for await (const chunk of probe.stdout as AsyncIterable<Buffer>) out += chunk.toString();
    try {
      await probe.finish();
    } catch (error) {
      throw new VideoDecodeError((error as Error).message);
    }
    const [width, height] = out.trim().split(',').map(Number);
    if (!width || !height) throw new VideoDecodeError(`${where}: the file has no video stream ffprobe can read`);
    const size = { width, height };
    this.#sizes.set(path, size);
    return size;
  }
}

/**
 * The frames of one episode of one video feature of the dataset at `root`, decoded to rgb24 (see VideoFrameReader;
 * open one reader for many episodes, to read the metadata once).
 */
export async function* readEpisodeFrames(
  root: string,
  key: string,
  episode: number,
  options: { env?: NodeJS.ProcessEnv } = {},
): AsyncGenerator<VideoFrame> {
  yield* (await VideoFrameReader.open(root, options)).frames(key, episode);
}
