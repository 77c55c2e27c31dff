import { DatasetError, type LeRobotFeature } from './dataset/dataset-types.ts';

/** Values per frame of a dataset feature, as info.json declares it. */
export const featureSize = (f: LeRobotFeature): number => f.shape.reduce((a, b) => a * b, 1);

/** Features a policy can read: numbers, not images or videos. */
export const numeric = (f: LeRobotFeature): boolean => !['video', 'image', 'string'].includes(f.dtype);

/** A camera of the dataset (a video feature), decoded frame by frame into an image input. */
export const isVideo = (f: LeRobotFeature | undefined): boolean => f?.dtype === 'video';

/**
 * Checks before the first frame what a size or name mismatch would otherwise fail at frame 0 with, in the
 * runner's words and with no way out: each --input names a model input and a numeric feature of the size
 * that input takes, every model input is fed, and the action output is as long as the recorded action.
 * Sizes are info.json's; a row that disagrees with them (ragged data) is still caught at its frame.
 */
export function checkMapping(
  features: Record<string, LeRobotFeature>,
  mapping: {
    inputs: Record<string, string>;
    /** Whether the user gave --input, or the only input reads observation.state by default. */
    explicit: boolean;
    /** Every input of the model, recurrent ones included. */
    names: string[];
    /** The inputs a caller feeds (not the recurrent ones), with the size each takes. */
    fed: { name: string; shape: number[]; size: number }[];
    /** The inputs a camera feeds (image inputs). */
    images: Set<string>;
    output: { name: string; dim: number | undefined };
    actionFeature: string;
  },
): void {
  const { inputs, explicit, names, fed, images, output, actionFeature } = mapping;
  const usable = Object.entries(features)
    .filter(([, f]) => numeric(f))
    .map(([key, f]) => `${key} [${f.shape.join(', ')}]`)
    .join(', ');
  for (const [input, feature] of Object.entries(inputs)) {
    const said = explicit ? `--input ${input}=${feature}` : `model input "${input}" reads ${feature} by default`;
    if (!names.includes(input))
      throw new DatasetError(`${said}: the model has no input "${input}" (inputs: ${names.join(', ')})`);
    const taken = fed.find((i) => i.name === input);
    const f = features[feature];
    // a recurrent input, or a feature info.json does not declare (readFrames says if the data lacks it)
    if (!taken || !f) continue;
    if (isVideo(f) !== images.has(input))
      throw new DatasetError(
        isVideo(f)
          ? `${said}: ${feature} is a video; model input "${input}" ${JSON.stringify(taken.shape)} is not an image ([1, 3, H, W] or [1, H, W, 3])`
          : `${said}: model input "${input}" is an image; map it to a video feature`,
      );
    if (isVideo(f)) continue;
    if (!numeric(f))
      throw new DatasetError(
        `${said}: ${feature} is a ${f.dtype} feature; a policy is fed numeric features (${usable})`,
      );
    if (featureSize(f) !== taken.size) {
      throw new DatasetError(
        `${said}: ${feature} has ${featureSize(f)} values per frame, but model input "${input}" takes ${taken.size} (${JSON.stringify(taken.shape)}); map it to a feature of that size with --input ${input}=FEATURE (features: ${usable})`,
      );
    }
  }
  const unfed = fed.filter((i) => !(i.name in inputs));
  if (unfed.length > 0)
    throw new DatasetError(
      `model input${unfed.length > 1 ? 's' : ''} ${unfed.map((i) => `"${i.name}" ${JSON.stringify(i.shape)}`).join(', ')} not fed: give --input NAME=FEATURE for each (features: ${usable})`,
    );
  const action = features[actionFeature];
  if (action && output.dim !== undefined && featureSize(action) !== output.dim) {
    throw new DatasetError(
      `model output "${output.name}" has ${output.dim} values per action, but the dataset's ${actionFeature} has ${featureSize(action)}; choose the output with --output NAME, or the recorded action with --action FEATURE (features: ${usable})`,
    );
  }
}
