import { PIXEL_BYTES, type PixelFormat } from './camera-frames.ts';
import { encodeTimeoutMs, FfmpegProcess } from './ffmpeg.ts';

export type VideoCodec = 'av1' | 'h264';
export const VIDEO_CODECS: readonly VideoCodec[] = ['av1', 'h264'];

/**
 * AV1 as LeRobot 0.6.1 encodes (lerobot/configs/video.py, VideoEncoderConfig and get_codec_options): libsvtav1 in
 * yuv420p, a keyframe every 2 frames (g), crf 30 at preset 12, fast-decode=0. H.264 with libx264 at its own default
 * crf, 23, its default preset: LeRobot's crf 30 is an AV1 number, and x264 at 30 costs 7 dB more (33.7 dB against
 * AV1's 40.7 on the sim's camera, under the 35 a policy's frames should keep). `info` records what was used.
 */
const ENCODERS: Record<VideoCodec, { args: string[]; crf: number; preset: number | null }> = {
  av1: {
    args: ['-c:v', 'libsvtav1', '-g', '2', '-crf', '30', '-preset', '12', '-svtav1-params', 'fast-decode=0'],
    crf: 30,
    preset: 12,
  },
  h264: { args: ['-c:v', 'libx264', '-g', '2', '-crf', '23'], crf: 23, preset: null },
};

/**
 * A video feature's `info` in meta/info.json as LeRobot 0.6.1 writes it (get_video_info): the stream's own
 * values, then the encoder's settings. video_backend is "pyav" because LeRobot rebuilds an encoder from these
 * (adding episodes, merging datasets) and takes no other backend; the settings are the ones it would use.
 */
export function videoInfo(codec: VideoCodec, width: number, height: number, fps: number): Record<string, unknown> {
  return {
    'video.height': height,
    'video.width': width,
    'video.codec': codec,
    'video.pix_fmt': 'yuv420p',
    'video.fps': Math.trunc(fps),
    'video.channels': 3,
    has_audio: false,
    'video.g': 2,
    'video.crf': ENCODERS[codec].crf,
    'video.preset': ENCODERS[codec].preset,
    'video.fast_decode': 0,
    'video.video_backend': 'pyav',
    'video.extra_options': {},
    is_depth_map: false,
  };
}

export interface VideoEncoderOptions {
  /** The .mp4 to write. */
  path: string;
  width: number;
  height: number;
  pixFmt: PixelFormat;
  fps: number;
  codec: VideoCodec;
  /** What is encoded, for errors: "encoding observation.images.front". */
  what: string;
  env?: NodeJS.ProcessEnv;
  /** The most frames it may be given: its time limit is sized by them (encodeTimeoutMs). */
  maxFrames: number;
}

/**
 * Encodes raw frames of one size into an MP4 with ffmpeg, as LeRobot encodes a camera's episodes: frame k at
 * k / fps, so an episode starting at frame F starts at F / fps. The encoding is ffmpeg's work, in its own
 * process on the other cores; this side only writes each frame to its stdin, waiting while the pipe is full.
 * Callers must wait on write() before writing again, and end with finish() or kill().
 */
export class VideoEncoder {
  readonly path: string;
  #ffmpeg: FfmpegProcess;
  #frameBytes: number;
  #frames = 0;

  constructor(options: VideoEncoderOptions) {
    const { path, width, height, pixFmt, fps, codec, what, env, maxFrames } = options;
    this.path = path;
    this.#frameBytes = width * height * PIXEL_BYTES[pixFmt];
    const args = [
      ...['-hide_banner', '-loglevel', 'error'],
      ...['-f', 'rawvideo', '-pix_fmt', pixFmt, '-s', `${width}x${height}`, '-framerate', String(fps), '-i', 'pipe:0'],
      ...['-an', ...ENCODERS[codec].args, '-pix_fmt', 'yuv420p'],
      // The index at the file's start, as LeRobot's files have it: a reader seeks without reading to the end.
      ...['-movflags', '+faststart', '-f', 'mp4', '-y', path],
    ];
    const timeoutMs = encodeTimeoutMs(maxFrames, width, height);
    this.#ffmpeg = new FfmpegProcess('ffmpeg', args, { what, env, stdin: true, timeoutMs });
  }

  /** Frames written so far. */
  get frames(): number {
    return this.#frames;
  }

  async write(data: Uint8Array): Promise<void> {
    if (data.byteLength !== this.#frameBytes)
      throw new Error(`a frame of ${data.byteLength} bytes written to an encoder of ${this.#frameBytes}-byte frames`);
    await this.#ffmpeg.write(data);
    this.#frames++;
  }

  /** Ends the video and waits for ffmpeg to have written it; throws FfmpegError when it failed. */
  finish(): Promise<void> {
    return this.#ffmpeg.finish();
  }

  kill(): Promise<void> {
    return this.#ffmpeg.kill();
  }
}
