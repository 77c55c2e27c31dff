// The ACT reference itself (act-peer.ts over LeRobot's ACTPolicy): its ONNX export has the inputs and output the
// daemon reads, and LeRobot's chunk depends on the camera frame, so a parity test against it can see images arrive.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOnnxModelInfo } from '../../daemon/system1/onnx-model-file.ts';
import { tempDir } from '../helpers/cli.ts';
import { type ActExport, type ActFrame, exportAct, predictAct } from './act-peer.ts';

const work = tempDir('system1-act-peer-');
afterAll(() => work.cleanup());

const [H, W, S, D, K] = [48, 64, 4, 3, 8];
const dir = join(work.path, 'act');
let exported: ActExport;

beforeAll(async () => {
  exported = await exportAct(dir, {
    stateDim: S,
    actionDim: D,
    cameras: [{ name: 'front', height: H, width: W }],
    chunk: K,
    small: true,
  });
}, 300_000);

/** A frame of one colour with a bright square whose corner is at (x, y). */
function frame(rgb: [number, number, number], x: number, y: number): ActFrame {
  const data = new Uint8Array(H * W * 3);
  for (let i = 0; i < H * W; i++) {
    const [r, c] = [Math.floor(i / W), i % W];
    const lit = r >= y && r < y + 16 && c >= x && c < x + 16;
    data.set(lit ? [250, 250, 250] : rgb, i * 3);
  }
  return { width: W, height: H, data };
}

describe("LeRobot's ACT as the vision-policy reference", () => {
  it('exports one ONNX file with flat per-feature inputs and one normalized action chunk out', () => {
    const info = readOnnxModelInfo(exported.model);
    expect(info.inputs).toEqual([
      { name: 'observation.state', dtype: 'float32', shape: [1, S] },
      { name: 'observation.images.front', dtype: 'float32', shape: [1, 3, H, W] },
    ]);
    expect(info.outputs).toEqual([{ name: 'action', dtype: 'float32', shape: [1, K, D] }]);
    expect(info.externalData).toEqual([]);
    // onnxruntime runs the export as PyTorch runs the policy
    expect(exported.max_abs_diff).toBeLessThan(1e-4);
  });

  it('predicts K x D finite actions that change with the camera frame and repeat for the same observation', async () => {
    const state = [0.5, -0.25, 1, 0];
    const chunks = await predictAct(dir, [
      { state, images: { front: frame([30, 90, 160], 4, 4) } },
      { state, images: { front: frame([30, 90, 160], 40, 24) } },
      { state, images: { front: frame([30, 90, 160], 4, 4) } },
    ]);
    expect(chunks).toHaveLength(3);
    for (const chunk of chunks) {
      expect(chunk).toHaveLength(K);
      for (const action of chunk) {
        expect(action).toHaveLength(D);
        expect(action.every(Number.isFinite)).toBe(true);
      }
    }
    expect(chunks[2]).toEqual(chunks[0]);
    const moved = chunks[1]!.flat().map((v, i) => Math.abs(v - chunks[0]!.flat()[i]!));
    expect(Math.max(...moved)).toBeGreaterThan(1e-3);
  }, 300_000);
});
