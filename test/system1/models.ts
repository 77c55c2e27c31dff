import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Value } from 'typebox/value';
import { OnnxGraphBuilder, buildLinearPolicy } from '../../sim/scan-policy/onnx-builder.ts';
import { PolicyConfig, type PolicySettings } from '../../daemon/config/sections/system1.ts';

/** Test models built with the project's own ONNX builder. */

/** y = x + h_in; h_out = x + h_in: a running sum, to see recurrent state carried across steps. */
export function writeRecurrentModel(dir: string): string {
  const g = new OnnxGraphBuilder();
  const x = g.input('x', [1, 2]);
  const h = g.input('h_in', [1, 2]);
  const sum = g.node('Add', [x, h], {}, 'y');
  g.node('Identity', [sum], {}, 'h_out');
  g.output('y', [1, 2]);
  g.output('h_out', [1, 2]);
  const path = join(dir, 'recurrent.onnx');
  writeFileSync(path, g.toBytes());
  return path;
}

/** A chunk policy: obs [1, 2] -> actions [1, K, 2], action k = obs * (k + 1). */
export function writeChunkModel(dir: string, k: number): string {
  const g = new OnnxGraphBuilder();
  const x = g.input('obs', [1, 2]);
  const w = new Float32Array(k * 2 * 2);
  for (let i = 0; i < k; i++) {
    w[i * 2 * 2 + 0] = i + 1;
    w[(i * 2 + 1) * 2 + 1] = i + 1;
  }
  const flat = g.dense(x, w, new Float32Array(k * 2), 'none', 'chunk');
  g.node('Reshape', [flat, g.int64s('shape', [1, k, 2])], {}, 'actions');
  g.output('actions', [1, k, 2]);
  const path = join(dir, `chunk${k}.onnx`);
  writeFileSync(path, g.toBytes());
  return path;
}

/** y = W x + b with obs [1, in] -> actions [1, out]. */
export function writeLinearModel(
  dir: string,
  name: string,
  weight: number[],
  bias: number[],
  metadata?: Record<string, string>,
): string {
  const path = join(dir, `${name}.onnx`);
  writeFileSync(
    path,
    buildLinearPolicy({ weight: Float32Array.from(weight), bias: Float32Array.from(bias), metadata }),
  );
  return path;
}

export function policySettings(raw: Record<string, unknown>): PolicySettings {
  return Value.Default(PolicyConfig, structuredClone(raw)) as PolicySettings;
}

/**
 * A slow policy, obs [1, 2] -> actions [1, 2], for tests of what a long inference must not hold up: a
 * [rows, 1536] x [1536, 1536] MatMul per run (the default rows take a few hundred ms on one core). Actions are ~0.
 */
export function writeSlowModel(dir: string, rows = 6144): string {
  const n = 1536;
  const g = new OnnxGraphBuilder();
  let x = g.input('obs', [1, 2]);
  x = g.dense(x, new Float32Array(2 * n).fill(0.001), new Float32Array(n), 'tanh', 'l0');
  const tiled = g.node('Tile', [x, g.int64s('reps', [rows, 1])]);
  const product = g.node('MatMul', [tiled, g.floats('W', [n, n], new Float32Array(n * n).fill(0.0001))]);
  const mean = g.node('ReduceMean', [product], { axes: [0], keepdims: 1 });
  g.dense(mean, new Float32Array(n * 2).fill(0.0001), new Float32Array(2), 'none', 'out', 'actions');
  g.output('actions', [1, 2]);
  const path = join(dir, `slow${rows}.onnx`);
  writeFileSync(path, g.toBytes());
  return path;
}

/**
 * A chunk policy far slower than its chunk lasts: obs [1, 2] -> actions [1, k, 2], every action ~obs,
 * after a [6144, 1536] x [1536, 1536] MatMul (a few hundred ms on one core), as writeSlowModel.
 */
export function writeSlowChunkModel(dir: string, k: number): string {
  const n = 1536;
  const g = new OnnxGraphBuilder();
  const obs = g.input('obs', [1, 2]);
  let x = g.dense(obs, new Float32Array(2 * n).fill(0.001), new Float32Array(n), 'tanh', 'l0');
  x = g.node('MatMul', [
    g.node('Tile', [x, g.int64s('reps', [6144, 1])]),
    g.floats('W', [n, n], new Float32Array(n * n).fill(0.0001)),
  ]);
  x = g.node('ReduceMean', [x], { axes: [0], keepdims: 1 });
  const small = g.dense(x, new Float32Array(n * 2).fill(0.0001), new Float32Array(2), 'none', 'out');
  const action = g.node('Add', [obs, small]);
  g.node('Reshape', [g.node('Tile', [action, g.int64s('chunk', [1, k])]), g.int64s('shape', [1, k, 2])], {}, 'actions');
  g.output('actions', [1, k, 2]);
  const path = join(dir, `slow-chunk${k}.onnx`);
  writeFileSync(path, g.toBytes());
  return path;
}
