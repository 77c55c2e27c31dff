import { existsSync } from 'node:fs';
import { DatasetFolder, UnsafeDatasetError, type DatasetFile } from './dataset-folder.ts';
import { DatasetError } from './dataset-types.ts';
import { datasetVideos, type DatasetVideos, type EpisodeVideo, type VideoFeature } from './dataset-videos.ts';
import { MAX_VIDEO_PIXELS } from './dataset-limits.ts';
import { decodeTimeoutMs, FfmpegError, FfmpegProcess, INPUT_FD_PATH, PROBE_TIMEOUT_MS } from './ffmpeg.ts';

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

/**
 * A dataset's video is read as MP4 (LeRobot writes nothing else), never as what its bytes look like: ffmpeg would
 * follow a playlist (HLS, concat) named .mp4 to files and URLs outside the dataset.
 */
const MP4_INPUT = ['-f', 'mp4', '-i'];

/** ffprobe's arguments that print a video's frame size: `width,height`. */
const PROBE_SIZE = ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'csv=p=0'];

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
 * the size info.json declares (a video of another size is refused before it is decoded); decoding runs in ffmpeg's
 * process, within a time limit sized by the episode's frames (ffmpeg.ts), and a reader that stops early ends it.
 */
export class VideoFrameReader {
  readonly root: string;
  readonly fps: number;
  /** The dataset's video feature keys. */
  readonly keys: string[];
  #videos: DatasetVideos;
  #folder: DatasetFolder;
  #env: NodeJS.ProcessEnv | undefined;
  /** Each video file's frame size, by the file's identity (a name may lead to another file by the next episode). */
  #sizes = new Map<string, { width: number; height: number }>();

  private constructor(root: string, videos: DatasetVideos, env: NodeJS.ProcessEnv | undefined) {
    this.root = root;
    this.fps = videos.fps;
    this.keys = videos.features.map((f) => f.key);
    this.#videos = videos;
    this.#folder = new DatasetFolder(root);
    this.#env = env;
  }

  /**
   * Reads the dataset's metadata (info.json and its episodes) once, checking every path it names; `env` is the one
   * ffmpeg runs in.
   */
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
    // Opened and checked here, and ffmpeg reads the file opened: a replay reaches an episode long after open() checked
    // its path, and a name can lead elsewhere by then.
    const file = this.#folder.open(video.path);
    try {
      yield* this.#decode(file, video, where, this.#feature(key));
    } finally {
      file.close();
    }
  }

  /** One episode's frames from its opened video `file`. */
  async *#decode(
    file: DatasetFile,
    video: EpisodeVideo,
    where: string,
    feature: VideoFeature,
  ): AsyncGenerator<VideoFrame> {
    const { width, height } = await this.#size(file, where, feature);
    const size = width * height * 3;
    // Half a frame either side of each frame's time: which frames are the episode's does not hang on rounding.
    const half = 0.5 / this.fps;
    const from = video.fromTimestamp - half;
    const to = video.fromTimestamp + video.length / this.fps - half;
    const ffmpeg = new FfmpegProcess(
      'ffmpeg',
      [
        ...['-hide_banner', '-loglevel', 'error', '-nostdin'],
        // From a second before the episode (ffmpeg decodes from the keyframe before it) to a second after, keeping the
        // file's times: an episode packed in a long file costs its own frames, not the rest of the file's.
        ...['-ss', String(Math.max(0, from - 1)), '-to', String(to + 1), '-copyts', ...MP4_INPUT, INPUT_FD_PATH],
        ...['-map', '0:v:0', '-vf', `select='gte(t,${from})*lt(t,${to})'`, '-fps_mode', 'passthrough'],
        ...['-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
      ],
      {
        what: `decoding ${where}`,
        env: this.#env,
        input: file.fd,
        // The episode's frames and the two seconds around it.
        timeoutMs: decodeTimeoutMs(video.length + 2 * this.fps, width, height),
      },
    );
    let index = 0;
    let partial = false;
    let done = false;
    try {
      for (let frame; (frame = await decoded(ffmpeg.read(size)));) {
        if (frame.length < size) {
          partial = true;
          break;
        }
        // Frames past the episode's length are counted, not given: the error below says how many there were.
        if (index < video.length) yield { index, timestamp: index / this.fps, width, height, data: frame };
        index++;
      }
      await decoded(ffmpeg.finish());
      done = true;
    } finally {
      if (!done) await ffmpeg.kill();
    }
    if (index !== video.length || partial)
      throw new VideoDecodeError(
        `${where}: decodes to ${index} frames${partial ? ' and a partial one' : ''}; the episode has ${video.length} (from ${video.fromTimestamp} s to ${video.toTimestamp} s at ${this.fps} fps)`,
      );
  }

  #feature(key: string): VideoFeature {
    return this.#videos.features.find((f) => f.key === key)!;
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
          if (!(error instanceof DatasetError) || error instanceof UnsafeDatasetError) throw error;
          report.failed.push({ episode: e.episode, error: error.message });
        }
      }
      reports.push(report);
    }
    return reports;
  }

  /**
   * A video file's frame size, from ffprobe, which must be the size info.json declares for its feature (a feature
   * that declares none takes any size up to MAX_VIDEO_PIXELS).
   */
  async #size(file: DatasetFile, where: string, feature: VideoFeature): Promise<{ width: number; height: number }> {
    const known = this.#sizes.get(file.id);
    if (known) return known;
    const probe = new FfmpegProcess('ffprobe', [...PROBE_SIZE, ...MP4_INPUT, INPUT_FD_PATH], {
      what: `reading ${where}`,
      env: this.#env,
      input: file.fd,
      timeoutMs: PROBE_TIMEOUT_MS,
    });
    let out: string;
    let done = false;
    try {
      out = await decoded(probe.text());
      await decoded(probe.finish());
      done = true;
    } finally {
      if (!done) await probe.kill();
    }
    const [width, height] = out.trim().split(',').map(Number);
    if (!width || !height) throw new VideoDecodeError(`${where}: the file has no video stream ffprobe can read`);
    const declared = feature.width > 0 && feature.height > 0;
    if (declared ? width !== feature.width || height !== feature.height : width * height > MAX_VIDEO_PIXELS)
      throw new VideoDecodeError(
        declared
          ? `${where}: the video is ${width}x${height}, but info.json declares ${feature.width}x${feature.height} for ${feature.key} (features.${feature.key}: video.width, video.height, shape); not decoded: fix info.json, or encode the video at that size`
          : `${where}: the video is ${width}x${height}, more than ${MAX_VIDEO_PIXELS} pixels a frame (8K); not decoded`,
      );
    const size = { width, height };
    this.#sizes.set(file.id, size);
    return size;
  }
}

/** `work`, its FfmpegError a VideoDecodeError: the episode's video did not decode. */
async function decoded<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    throw error instanceof FfmpegError ? new VideoDecodeError(error.message) : error;
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
