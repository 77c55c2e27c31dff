// The README's `policy replay MODEL DATASET` with the fixture policies and dataset: a mapping that
// can't work must be refused before the first frame, saying which option changes it and what would fit.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, runMain, tempDir } from '../helpers/cli.ts';
import { G1 } from '../system1/datasets.ts';
import { writeLinearModel } from '../system1/models.ts';

const tmp = tempDir('policy-replay-mapping-');
afterAll(() => tmp.cleanup());

const FEATURES =
  'features: observation.state [26], action [26], timestamp [1], frame_index [1], episode_index [1], index [1], task_index [1]';
const replay = (...args: string[]) => runMain(['policy', 'replay', ...args]);

describe('auraison-edge policy replay checks the mapping before it runs a frame', () => {
  it('a model input of another size than the feature it reads by default: names the default and --input', async () => {
    const microban = join(FIXTURES, 'onnx', 'mjlab_microban', 'policy.onnx');
    const r = await replay(microban, G1, '--episodes', '0');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'auraison-edge policy replay: model input "obs" reads observation.state by default: observation.state has 26 values per frame, ' +
        `but model input "obs" takes 63 ([1,63]); map it to a feature of that size with --input obs=FEATURE (${FEATURES})\n`,
    );
  });

  it('an --input naming no model input, or a video feature, is refused naming the option as given', async () => {
    const identity = writeLinearModel(
      tmp.path,
      'identity26',
      Array.from({ length: 26 * 26 }, (_, i) => (i % 27 === 0 ? 1 : 0)),
      new Array(26).fill(0),
    );
    const noInput = await replay(identity, G1, '--input', 'state=observation.state', '--episodes', '0');
    expect(noInput.code).toBe(1);
    expect(noInput.stderr).toBe(
      'auraison-edge policy replay: --input state=observation.state: the model has no input "state" (inputs: obs)\n',
    );
    const video = await replay(identity, G1, '--input', 'obs=observation.images.cam_high', '--episodes', '0');
    expect(video.code).toBe(1);
    expect(video.stderr).toBe(
      'auraison-edge policy replay: --input obs=observation.images.cam_high: observation.images.cam_high is a video; model input "obs" [1,26] is not an image ([1, 3, H, W] or [1, H, W, 3])\n',
    );
  });

  it('an action output of another length than the recorded action names --output and --action', async () => {
    const toTwo = writeLinearModel(tmp.path, 'to-two', new Array(52).fill(0.01), [0, 0]);
    const r = await replay(toTwo, G1, '--episodes', '0');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'auraison-edge policy replay: model output "actions" has 2 values per action, but the dataset\'s action has 26; ' +
        `choose the output with --output NAME, or the recorded action with --action FEATURE (${FEATURES})\n`,
    );
  });
});
