import type { ImageSourceSettings } from '../../config/index.ts';
import type { TensorInfo } from '../onnx-model-file.ts';

/** Where a model input keeps its channels: LeRobot's policies take channels first. */
export type ImageLayout = 'nchw' | 'nhwc';

/** A model input fed by a camera: its size and layout, and the frame settings of the manifest. */
export interface ImageInputSpec {
  readonly layout: ImageLayout;
  readonly height: number;
  readonly width: number;
  readonly channels: 1 | 3;
  readonly dtype: 'float32' | 'uint8';
  readonly settings: ImageSourceSettings;
}

export class ImageInputError extends Error {
  override name = 'ImageInputError';
}

const isChannels = (d: number | string | undefined): d is 1 | 3 => d === 1 || d === 3;

/**
 * An image input's size and layout from the model: [N, C, H, W] or [N, H, W, C] (or without N), C being 1 or 3.
 * Channels first wins when both could be channels ([1, 3, 3, 3]), as LeRobot exports its policies so.
 */
export function resolveImageInput(at: string, tensor: TensorInfo, settings: ImageSourceSettings): ImageInputSpec {
  if (tensor.dtype !== 'float32' && tensor.dtype !== 'uint8')
    throw new ImageInputError(`${at}: the model input is ${tensor.dtype}; an image input is float32 or uint8`);
  const shape = tensor.shape;
  const rank = shape.length;
  if (rank !== 3 && rank !== 4)
    throw new ImageInputError(
      `${at}: the model input ${JSON.stringify(shape)} is not an image: give it [N, C, H, W] or [N, H, W, C]`,
    );
  if (rank === 4 && typeof shape[0] === 'number' && shape[0] > 1)
    throw new ImageInputError(`${at}: the model input ${JSON.stringify(shape)} takes a batch of ${shape[0]} frames`);
  const [a, b, c] = shape.slice(rank - 3);
  const first = isChannels(a);
  const layout: ImageLayout = first ? 'nchw' : 'nhwc';
  if (!first && !isChannels(c))
    throw new ImageInputError(
      `${at}: the model input ${JSON.stringify(shape)} has no channel dimension of 1 or 3 first or last`,
    );
  const [height, width] = first ? [b, c] : [a, b];
  if (typeof height !== 'number' || typeof width !== 'number' || height < 1 || width < 1)
    throw new ImageInputError(
      `${at}: the model input ${JSON.stringify(shape)} has a symbolic height or width; export the model with a fixed frame size`,
    );
  const channels = (first ? a : c) as 1 | 3;
  return { layout, height, width, channels, dtype: tensor.dtype, settings };
}

/** Elements of the input tensor. */
export const imageInputSize = (spec: ImageInputSpec): number => spec.height * spec.width * spec.channels;
