import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { describe, expect, it, vi } from 'vitest';
import { modelFingerprint, readOnnxModelInfo } from '../../daemon/system1/onnx-model-file.ts';
import { buildLinearPolicy } from '../../sim/scan-policy/onnx-builder.ts';
import { tempDir } from '../helpers/cli.ts';
import { startLoopDaemon } from './loop-daemon-harness.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

const { onnx } = onnxProto;

// ONNX external data files can have any name: each initializer's external_data `location` names its file,
// relative to the model. The SIGHUP check for replaced models stamped the model and `<model>.data` only,
// so replacing weights kept under another name (as torch.onnx and onnx.save_model let an exporter choose)
// left the loop running the old ones.

const cleanups = cleanupStack();
const wait = { timeout: 30_000, interval: 20 };

/**
 * y = W x + b (obs [1, 2] -> actions [1, 2]) saved as policy.onnx with each initializer's raw data in a file
 * of its own, named as no default would: `<initializer>.weights.bin` beside the model. Returns the model path.
 */
function writeExternalLinearModel(dir: string, weight: number[], bias: number[]): string {
  const model = onnx.ModelProto.decode(
    buildLinearPolicy({ weight: Float32Array.from(weight), bias: Float32Array.from(bias) }),
  );
  for (const init of model.graph!.initializer!) {
    const location = `${init.name}.weights.bin`;
    writeFileSync(join(dir, location), init.rawData!);
    init.externalData = [
      { key: 'location', value: location },
      { key: 'offset', value: '0' },
      { key: 'length', value: String(init.rawData!.length) },
    ];
    init.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    init.rawData = new Uint8Array();
  }
  const path = join(dir, 'policy.onnx');
  writeFileSync(path, onnx.ModelProto.encode(model).finish());
  return path;
}

describe('a model whose external data files have their own names', () => {
  it('is fingerprinted with every file its initializers name, so replacing any of them changes the fingerprint', () => {
    const dir = tempDir('external-data-');
    cleanups.push(dir.cleanup);
    const model = writeExternalLinearModel(dir.path, [1, 0, 0, 1], [0, 0]);
    const files = readOnnxModelInfo(model).externalData;
    expect(files.length).toBeGreaterThanOrEqual(2);
    expect(files.every((f) => f.endsWith('.weights.bin'))).toBe(true);
    const before = modelFingerprint(model);
    for (const f of files) expect(before).toContain(`${f}=`);
    // Same sizes, new bytes, one file at a time: each is a different deployment.
    let last = before;
    for (const f of files) {
      writeFileSync(
        join(dir.path, f),
        readFileSync(join(dir.path, f)).map((b) => b ^ 1),
      );
      const now = modelFingerprint(model);
      expect(now).not.toBe(last);
      last = now;
    }
    expect(modelFingerprint(join(dir.path, 'nothing.onnx'))).toBe(`${join(dir.path, 'nothing.onnx')}=missing`);
  });

  it('restarts the loop on SIGHUP after only a weights file was replaced, and the loop runs the new weights', async () => {
    const dir = tempDir('external-data-reload-');
    cleanups.push(dir.cleanup);
    const model = writeExternalLinearModel(dir.path, [1, 0, 0, 1], [0, 0]);
    const { daemon, config, sent } = await startLoopDaemon(dir.path, model, cleanups);
    await vi.waitFor(() => expect(sent).toContainEqual([1, 2]), wait);

    // A deployment rewrites the weights file alone: the .onnx and the config are unchanged.
    const weights = join(dir.path, 'linear.weight.weights.bin');
    writeFileSync(weights, new Uint8Array(Float32Array.of(2, 0, 0, 2).buffer));
    expect(await daemon.reload(structuredClone(config))).toContain('control');
    const after = sent.length;
    await vi.waitFor(() => expect(sent.slice(after)).toContainEqual([2, 4]), wait);
  });
});
