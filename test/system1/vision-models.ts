import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OnnxGraphBuilder } from '../../sim/scan-policy/onnx-builder.ts';

/**
 * Vision test models built with the project's own ONNX builder: an image [1, 3, H, W] (or [1, H, W, 3], or uint8)
 * becomes the mean of each channel, so a test reads back what the model saw: the action is [mean R, mean B]
 * (+ the state's first element when the model takes a state), and a chunk of k repeats it k times, times (i + 1).
 */
export function writeChannelMeanModel(
  dir: string,
  name: string,
  options: {
    height: number;
    width: number;
    layout?: 'nchw' | 'nhwc';
    dtype?: 'float32' | 'uint8';
    state?: number;
    chunk?: number;
    output?: string;
  },
): string {
  const { height, width, layout = 'nchw', dtype = 'float32', state = 0, chunk = 1, output = 'action' } = options;
  const g = new OnnxGraphBuilder();
  let image = g.input(
    'observation.images.front',
    layout === 'nchw' ? [1, 3, height, width] : [1, height, width, 3],
    dtype,
  );
  if (dtype === 'uint8') image = g.node('Cast', [image], { to: 1 });
  const means = g.node('ReduceMean', [image], { axes: layout === 'nchw' ? [2, 3] : [1, 2], keepdims: 0 }); // [1, 3]
  // [mean R, mean B]: Gemm with weight [2, 3] selecting channels 0 and 2.
  let action = g.dense(means, Float32Array.from([1, 0, 0, 0, 0, 1]), new Float32Array(2), 'none', 'select');
  if (state > 0) {
    const s = g.input('observation.state', [1, state]);
    const first = new Float32Array(2 * state);
    first[0] = 1;
    first[state] = 1;
    action = g.node('Add', [action, g.dense(s, first, new Float32Array(2), 'none', 'state')]);
  }
  if (chunk === 1) {
    g.node('Identity', [action], {}, output);
    g.output(output, [1, 2]);
  } else {
    const tiled = g.node('Tile', [
      g.node('Unsqueeze', [action, g.int64s('axis', [1])]),
      g.int64s('reps', [1, chunk, 1]),
    ]);
    const steps = g.floats(
      'steps',
      [1, chunk, 1],
      Array.from({ length: chunk }, (_, i) => i + 1),
    );
    g.node('Mul', [tiled, steps], {}, output);
    g.output(output, [1, chunk, 2]);
  }
  const path = join(dir, `${name}.onnx`);
  writeFileSync(path, g.toBytes());
  return path;
}

/**
 * Two cameras: `observation.images.front` and `observation.images.wrist`, both [1, 3, H, W] float32; the action is
 * [mean R of front, mean B of wrist].
 */
export function writeTwoCameraModel(dir: string, height: number, width: number, output = 'actions'): string {
  const g = new OnnxGraphBuilder();
  const front = g.input('observation.images.front', [1, 3, height, width]);
  const wrist = g.input('observation.images.wrist', [1, 3, height, width]);
  const frontMeans = g.node('ReduceMean', [front], { axes: [2, 3], keepdims: 0 });
  const wristMeans = g.node('ReduceMean', [wrist], { axes: [2, 3], keepdims: 0 });
  const r = g.dense(frontMeans, Float32Array.from([1, 0, 0, 0, 0, 0]), new Float32Array(2), 'none', 'front');
  const b = g.dense(wristMeans, Float32Array.from([0, 0, 0, 0, 0, 1]), new Float32Array(2), 'none', 'wrist');
  g.node('Add', [r, b], {}, output);
  g.output(output, [1, 2]);
  const path = join(dir, `two-cameras-${height}x${width}.onnx`);
  writeFileSync(path, g.toBytes());
  return path;
}
