import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { writeLinearModel } from './models.ts';
import { writeChannelMeanModel } from './vision-models.ts';

const FRONT = 'observation.images.front';
const CAMERA = { topic: '/camera/image_raw' };
const TWIST = { topic: '/cmd_vel', type: 'geometry_msgs/msg/Twist' };

/** A policy mistake a start refuses every time: a config with it, the same config written right, and its problem. */
export interface UnrunnablePolicy {
  /** The config file with the mistake. */
  wrong: string;
  /** The same config with the mistake fixed, which runs. */
  right: string;
  /** The key path the problem names. */
  path: string;
  /** What the problem says, after its key path. */
  message: RegExp;
}

/**
 * Each policy mistake a user meets (issue 65): writes into `dir` the models they use (a [1, 2] -> [1, 2] linear model,
 * a [1, 360] one, a 4 x 4 camera model), a stats file with the camera's feature alone, and each config, with a data dir
 * of its own and the daemon's servers on free ports, so that daemons started on several do not collide.
 */
export function writeUnrunnablePolicies(dir: string): Record<string, UnrunnablePolicy> {
  const linear = writeLinearModel(dir, 'linear', [1, 0, 0, 1], [0, 0]);
  const camera = writeChannelMeanModel(dir, 'camera', { height: 4, width: 4 });
  const wide = writeLinearModel(dir, 'wide', new Array<number>(720).fill(0), [0, 0]);
  writeFileSync(
    join(dir, 'stats.json'),
    JSON.stringify({ [FRONT]: { mean: [[[0.5]], [[0.5]], [[0.5]]], std: [[[0.2]], [[0.2]], [[0.2]]] } }),
  );
  let configs = 0;
  const config = (act: Record<string, unknown>, control?: Record<string, unknown>): string => {
    const file = join(dir, `edge-${++configs}.yaml`);
    const servers = { api: { port: 0 }, foxglove: { port: 0 }, sim: { enabled: false } };
    writeFileSync(file, stringify({ data_dir: `./data-${configs}`, ...servers, policies: { act }, control }));
    return file;
  };
  const state = (fields: string[]) => ({ sources: [{ topic: '/joint_states', fields }] });
  const normalized = (feature: string) => ({ image: CAMERA, normalize: { stats: 'stats.json', feature } });
  const looped = (image: Record<string, unknown>) =>
    config(
      { model: camera, inputs: { [FRONT]: { image } }, outputs: { action: { command: TWIST } } },
      { loops: { drive: { policy: 'act' } } },
    );
  return {
    'a model file that is not there': {
      wrong: config({ model: 'missing.onnx', inputs: { obs: state(['a', 'b']) } }),
      right: config({ model: 'linear.onnx', inputs: { obs: state(['a', 'b']) } }),
      path: 'policies.act.model',
      message: /^cannot read ONNX model .*missing\.onnx/,
    },
    'an image input on a [1, 360] model': {
      wrong: config({ model: wide, inputs: { obs: { image: CAMERA } } }),
      right: config({ model: camera, inputs: { [FRONT]: { image: CAMERA } } }),
      path: 'policies.act.inputs.obs.image',
      message: /^the model input \[1,360\] is not an image/,
    },
    'a stats feature the stats file lacks': {
      wrong: config({ model: camera, inputs: { [FRONT]: normalized('observation.images.top') } }),
      right: config({ model: camera, inputs: { [FRONT]: normalized(FRONT) } }),
      path: `policies.act.inputs.${FRONT}.normalize.feature`,
      message:
        /^stats file .*stats\.json has no feature "observation\.images\.top" \(it has: observation\.images\.front\)/,
    },
    'three state fields for a [1, 2] input': {
      wrong: config({ model: linear, inputs: { obs: state(['a', 'b', 'c']) } }),
      right: config({ model: linear, inputs: { obs: state(['a', 'b']) } }),
      path: 'policies.act.inputs.obs',
      message: /^the sources give 3 elements, the model input obs \[1,2\] takes 2/,
    },
    'an input name the model does not have': {
      wrong: config({ model: linear, inputs: { 'observation.state': state(['a', 'b']) } }),
      right: config({ model: linear, inputs: { obs: state(['a', 'b']) } }),
      path: 'policies.act.inputs.observation.state',
      message: /^the model has no input "observation\.state" \(inputs: obs\)/,
    },
    "a loop's image input with no topic": {
      wrong: looped({}),
      right: looped(CAMERA),
      path: `policies.act.inputs.${FRONT}.image.topic`,
      message: /^a control loop needs the camera topic that feeds it/,
    },
  };
}
