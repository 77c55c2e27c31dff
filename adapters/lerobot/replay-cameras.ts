import { VideoFrameReader, type VideoFrame } from './dataset/video-frames.ts';
import { DatasetError } from './dataset/dataset-types.ts';
import { decodeFrame } from '../../daemon/system1/index.ts';
import { frameToInput } from '../../daemon/system1/index.ts';
import { resolveImageInput, type ImageInputSpec } from '../../daemon/system1/index.ts';
import type { PolicySettings } from '../../daemon/config/index.ts';
import type { OnnxModelInfo, TensorInfo } from '../../daemon/system1/index.ts';

/** Replay's cameras: a dataset's video features fed into a policy's image inputs, frame by frame. */

/**
 * A bare model's image input fed from a video feature: resized to the input as a loop would (the topic names nothing
 * here: replay reads the dataset's video).
 */
const REPLAY_IMAGE = {
  topic: '/replay/image',
  resize: 'fill',
  depth_scale: 0.001,
  max_pixels: 16_777_216,
  decode_timeout_ms: 250,
  age_from: 'arrival',
} as const;

/** A model input a camera can feed: [1, C, H, W] or [1, H, W, C], C 1 or 3, float32 or uint8. */
const isImageTensor = (t: TensorInfo): boolean => {
  try {
    resolveImageInput('', t, { ...REPLAY_IMAGE });
    return true;
  } catch {
    return false;
  }
};

/**
 * The policy's settings with each input a video feeds made an image input (the manifest's camera settings, or resized
 * as a loop would); a model input that cannot take a frame is refused naming the --input.
 */
export function withCameraInputs(
  settings: PolicySettings,
  model: OnnxModelInfo,
  videos: [input: string, feature: string][],
  explicit: boolean,
): PolicySettings {
  for (const [input, feature] of videos) {
    const tensor = model.inputs.find((i) => i.name === input);
    const said = explicit ? `--input ${input}=${feature}` : `model input "${input}" reads ${feature} by default`;
    if (tensor && !isImageTensor(tensor))
      throw new DatasetError(
        `${said}: ${feature} is a video; model input "${input}" ${JSON.stringify(tensor.shape)} is not an image ([1, 3, H, W] or [1, H, W, 3])`,
      );
  }
  return {
    ...settings,
    inputs: {
      ...settings.inputs,
      ...Object.fromEntries(
        videos.map(([input]) => {
          const configured = settings.inputs[input];
          return [input, { ...configured, sources: [], image: configured?.image ?? { ...REPLAY_IMAGE } }];
        }),
      ),
    },
  };
}

export interface CameraFeed {
  input: string;
  /** The episode's frame `index` as the input takes it (model layout, [0, 1] or bytes). */
  at(episode: number, index: number): Promise<Float32Array | Uint8Array>;
}

/**
 * Each video feature's frames, decoded an episode at a time by ffmpeg (dataset/video-frames.ts) in frame order, and
 * put in its image input as a loop would: resized to the input when the video is of another size, RGB, channels as
 * the model takes them.
 */
export async function cameraFeeds(
  dataset: string,
  videos: { input: string; feature: string; spec: ImageInputSpec }[],
): Promise<CameraFeed[]> {
  const reader = await VideoFrameReader.open(dataset);
  return videos.map(({ input, feature, spec }) => {
    let episodeNow = -1;
    let frames: AsyncGenerator<VideoFrame> | undefined;
    const tensor = (): Float32Array | Uint8Array =>
      spec.dtype === 'uint8'
        ? new Uint8Array(spec.height * spec.width * spec.channels)
        : new Float32Array(spec.height * spec.width * spec.channels);
    return {
      input,
      async at(episode: number, index: number) {
        if (episode !== episodeNow) {
          await frames?.return(undefined);
          frames = reader.frames(feature, episode);
          episodeNow = episode;
        }
        for (;;) {
          const next = await frames!.next();
          if (next.done) throw new DatasetError(`${feature}: episode ${episode} has no frame ${index} in its video`);
          const frame = next.value;
          if (frame.index < index) continue;
          if (frame.index > index)
            throw new DatasetError(`${feature}: episode ${episode} frame ${index} is missing from its video`);
          const same = frame.width === spec.width && frame.height === spec.height && spec.channels === 3;
          const pixels = same
            ? frame.data
            : (
                await decodeFrame(
                  {
                    width: frame.width,
                    height: frame.height,
                    encoding: 'rgb8',
                    step: frame.width * 3,
                    data: frame.data,
                  },
                  {
                    width: spec.width,
                    height: spec.height,
                    channels: spec.channels,
                    resize: spec.settings.resize,
                    maxPixels: spec.settings.max_pixels,
                  },
                )
              ).data;
          const out = tensor();
          frameToInput(pixels, spec.channels === 1 ? 'gray' : 'rgb', spec, out);
          return out;
        }
      },
    };
  });
}
