// What a manifest's image input must say, checked at start with the key to fix: a loop needs the camera's topic (a
// policy only served does not), the model input must be a frame, and a uint8 input takes no normalization.
import { afterAll, describe, expect, it } from 'vitest';
import { planLoop } from '../../daemon/system1/control/loop-plan.ts';
import { readOnnxModelInfo } from '../../daemon/system1/onnx-model-file.ts';
import { resolvePolicySpec } from '../../daemon/system1/policy-spec.ts';
import { Value } from 'typebox/value';
import { LoopConfig, type LoopSettings } from '../../daemon/config/sections/system1.ts';
import { tempDir } from '../helpers/cli.ts';
import { policySettings, writeLinearModel } from './models.ts';
import { writeChannelMeanModel } from './vision-models.ts';

const tmp = tempDir('image-input-manifest-');
afterAll(() => tmp.cleanup());
const loop = Value.Default(LoopConfig, { policy: 'p' }) as LoopSettings;

describe('an image input in a manifest', () => {
  it('needs a topic in a loop, not in a policy only served', () => {
    const model = writeChannelMeanModel(tmp.path, 'served', { height: 4, width: 4 });
    const settings = policySettings({ model, inputs: { 'observation.images.front': { image: {} } } });
    const spec = resolvePolicySpec('p', settings, readOnnxModelInfo(model));
    expect(spec.inputs[0]!.image).toMatchObject({ layout: 'nchw', height: 4, width: 4, channels: 3 });
    expect(() => planLoop('l', loop, spec)).toThrow(
      'policies.p.inputs.observation.images.front.image.topic: a control loop needs the camera topic that feeds it',
    );
  });

  it('is refused on a model input that is not a frame, and with normalize on a uint8 input', () => {
    const flat = writeLinearModel(tmp.path, 'flat', [1, 0, 0, 1], [0, 0]);
    const onFlat = policySettings({ model: flat, inputs: { obs: { image: { topic: '/camera' } } } });
    expect(() => resolvePolicySpec('p', onFlat, readOnnxModelInfo(flat))).toThrow(
      /policies\.p\.inputs\.obs\.image: the model input \[1,2\] is not an image/,
    );
    const bytes = writeChannelMeanModel(tmp.path, 'bytes', { height: 4, width: 4, layout: 'nhwc', dtype: 'uint8' });
    const normalized = policySettings({
      model: bytes,
      inputs: { 'observation.images.front': { image: { topic: '/camera' }, normalize: { mode: 'imagenet' } } },
    });
    expect(() => resolvePolicySpec('p', normalized, readOnnxModelInfo(bytes))).toThrow(
      'policies.p.inputs.observation.images.front.normalize: the model input is uint8 and is fed the frame as it is; remove normalize',
    );
  });
});
