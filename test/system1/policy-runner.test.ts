import { afterAll, describe, expect, it } from 'vitest';
import { PolicyInputError, PolicyRunner } from '../../daemon/system1/policy-runner.ts';
import { ManifestError } from '../../daemon/system1/policy-spec.ts';
import { NormalizationError } from '../../daemon/system1/normalization.ts';
import { FIXTURES, tempDir } from '../helpers/cli.ts';
import { policySettings, writeLinearModel, writeRecurrentModel } from './models.ts';

const CONTROLLER = `${FIXTURES}/onnx/onnxruntime_controller/policy.onnx`;
const MICROBAN = `${FIXTURES}/onnx/mjlab_microban/policy.onnx`;
const tmp = tempDir();
afterAll(() => tmp.cleanup());

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'none';
  } catch (error) {
    return error instanceof PolicyInputError ? error.code : (error as Error).name;
  }
}

describe('PolicyRunner', () => {
  it('runs a model whose weights live in an external .onnx.data file', async () => {
    const runner = await PolicyRunner.open('ctl', policySettings({ model: CONTROLLER }));
    const a = (await runner.run({ obs: new Float32Array(13) })).actions!;
    const b = (await runner.run({ obs: new Float32Array(13).fill(0.5) })).actions!;
    expect(a.shape).toEqual([1, 2]);
    expect(Array.from(a.data).every(Number.isFinite)).toBe(true);
    expect(Array.from(a.data)).not.toEqual(Array.from(b.data)); // the weights are really there
    await runner.close();
  });

  it('normalizes with statistics from metadata_props', async () => {
    // y = x on two elements; the model says mean 1,2 and std 2,4 for its input and 10,20 / 1 for its output.
    const model = writeLinearModel(tmp.path, 'meta', [1, 0, 0, 1], [0, 0], {
      obs_mean: '1, 2',
      obs_std: '2,4',
      act_mean: '10,20',
    });
    const runner = await PolicyRunner.open(
      'meta',
      policySettings({
        model,
        inputs: {
          obs: { normalize: { mode: 'mean_std', metadata: { mean: 'obs_mean', std: 'obs_std' }, epsilon: 0 } },
        },
        outputs: {
          actions: { unnormalize: { mode: 'mean_std', metadata: { mean: 'act_mean' }, std: [1], epsilon: 0 } },
        },
      }),
    );
    // (5 - 1) / 2 + 10 = 12; (10 - 2) / 4 + 20 = 22
    expect(Array.from((await runner.run({ obs: Float32Array.of(5, 10) })).actions!.data)).toEqual([12, 22]);
    await runner.close();
  });

  it('names the metadata key and the counts when statistics do not fit (mjlab_microban: 19 joint defaults, 18 actions)', async () => {
    await expect(
      PolicyRunner.open(
        'm',
        policySettings({
          model: MICROBAN,
          outputs: {
            actions: { unnormalize: { mode: 'mean_std', metadata: { mean: 'default_joint_pos' }, std: [1] } },
          },
        }),
      ),
    ).rejects.toThrow(
      /policies\.m\.outputs\.actions\.unnormalize: mean from metadata_props default_joint_pos has 19 values, the tensor has 18/,
    );
    await expect(
      PolicyRunner.open(
        'm',
        policySettings({
          model: MICROBAN,
          inputs: { obs: { normalize: { mode: 'mean_std', metadata: { mean: 'nope' } } } },
        }),
      ),
    ).rejects.toBeInstanceOf(NormalizationError);
  });

  it('answers bad input with a coded error and keeps working', async () => {
    const runner = await PolicyRunner.open('ctl', policySettings({ model: CONTROLLER }));
    expect(await code(runner.run({}))).toBe('missing_input');
    expect(await code(runner.run({ obs: new Float32Array(12) }))).toBe('bad_shape');
    expect(await code(runner.run({ obs: new Float32Array(13).fill(NaN) }))).toBe('not_finite');
    expect(await code(runner.run({ obs: new Float32Array(13), other: new Float32Array(1) }))).toBe('unknown_input');
    expect(await code(runner.run({ obs: new Float64Array(13) as unknown as Float32Array }))).toBe('bad_dtype');
    expect(await code(runner.run({ obs: new Float32Array(13) }))).toBe('none');
    await runner.close();
  });

  it('feeds a recurrent input from the previous step and resets it', async () => {
    const model = writeRecurrentModel(tmp.path);
    const runner = await PolicyRunner.open('rec', policySettings({ model, inputs: { h_in: { recurrent: 'h_out' } } }));
    const x = Float32Array.of(1, 2);
    expect(Array.from((await runner.run({ x })).y!.data)).toEqual([1, 2]);
    expect(Array.from((await runner.run({ x })).y!.data)).toEqual([2, 4]);
    expect(Array.from((await runner.run({ x })).y!.data)).toEqual([3, 6]);
    runner.reset();
    expect(Array.from((await runner.run({ x })).y!.data)).toEqual([1, 2]);
    // A stateless caller passes the state itself.
    expect(Array.from((await runner.run({ x }, { h_in: Float32Array.of(10, 10) })).y!.data)).toEqual([11, 12]);
    await runner.close();
  });

  it("keeps a step's outputs and inputs as they were after the next step (its buffers are its own)", async () => {
    const model = writeRecurrentModel(tmp.path);
    const runner = await PolicyRunner.open('rec', policySettings({ model, inputs: { h_in: { recurrent: 'h_out' } } }));
    const x = Float32Array.of(1, 2);
    const first = (await runner.run({ x })).y!.data;
    const second = (await runner.run({ x: Float32Array.of(5, 5) })).y!.data;
    expect(Array.from(first)).toEqual([1, 2]);
    expect(Array.from(second)).toEqual([6, 7]);
    expect(Array.from(x)).toEqual([1, 2]);
    await runner.close();
  });

  it("warms up without leaving state: the previous output after it is a first step's zeros", async () => {
    // actions = obs + (3, 4): the warm-up on zeros gives (3, 4), which no caller gave.
    const model = writeLinearModel(tmp.path, 'biased', [1, 0, 0, 1], [3, 4]);
    const runner = await PolicyRunner.open('biased', policySettings({ model }));
    await runner.warmUp();
    expect(Array.from(runner.previousOutput('actions', 2))).toEqual([0, 0]);
    expect(Array.from((await runner.run({ obs: Float32Array.of(1, 2) })).actions!.data)).toEqual([4, 6]);
    expect(Array.from(runner.previousOutput('actions', 2))).toEqual([4, 6]);
    await runner.close();
  });

  it('names manifest errors by config key', async () => {
    const model = writeLinearModel(tmp.path, 'lin', [1, 0, 0, 1], [0, 0]);
    await expect(PolicyRunner.open('p', policySettings({ model, inputs: { nope: {} } }))).rejects.toThrow(
      /policies\.p\.inputs\.nope: the model has no input "nope"/,
    );
    await expect(
      PolicyRunner.open('p', policySettings({ model, inputs: { obs: { sources: [{ constant: [1, 2, 3] }] } } })),
    ).rejects.toThrow(ManifestError);
  });

  it('gives a clear error for an execution provider this host lacks', async () => {
    for (const provider of ['cuda', 'tensorrt']) {
      await expect(PolicyRunner.open('ctl', policySettings({ model: CONTROLLER, provider }))).rejects.toThrow(
        new RegExp(`execution provider "${provider}" is not available on this host.*set the policy's provider to cpu`),
      );
    }
  });
});
