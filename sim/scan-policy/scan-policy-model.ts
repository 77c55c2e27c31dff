import type { Mlp } from './mlp.ts';
import { OnnxGraphBuilder } from './onnx-builder.ts';
import { BEAMS, RANGE_MAX, SECTOR_ORDER, SECTORS } from './scan-features.ts';

/**
 * The turtlebot-maze policy as ONNX: raw /scan ranges [1, 360] in, [linear.x, angular.z] out. The graph
 * does the preprocessing of scan-features.ts (Gather to centre sector 0 on the front, Clip to
 * [0, RANGE_MAX], ReduceMin per sector), then the MLP. `inputScale` and the output mean and scale are
 * folded into the first and last layers, so the model works in raw units.
 */
export function buildScanPolicyModel(options: {
  mlp: Mlp;
  inputScale: number;
  outputMean: number[];
  outputScale: number[];
  metadata?: Record<string, string>;
}): Uint8Array {
  const { mlp, inputScale, outputMean, outputScale, metadata = {} } = options;
  const g = new OnnxGraphBuilder();
  const scan = g.input('scan', [1, BEAMS]);
  const ordered = g.node('Gather', [scan, g.int64s('sector_order', SECTOR_ORDER)], { axis: 1 });
  const clipped = g.node('Clip', [ordered, g.floats('range_min', [], [0]), g.floats('range_max', [], [RANGE_MAX])]);
  const sectors = g.node('Reshape', [clipped, g.int64s('sector_shape', [1, SECTORS, BEAMS / SECTORS])]);
  const minima = g.node('ReduceMin', [sectors], { axes: [2], keepdims: 0 });
  const w1 = mlp.w1.map((w) => w * inputScale);
  const hidden = g.dense(minima, w1, mlp.b1, 'tanh', 'layer1');
  const w2 = mlp.w2.map((w, i) => w * outputScale[Math.floor(i / mlp.hidden)]!);
  const b2 = mlp.b2.map((b, k) => b * outputScale[k]! + outputMean[k]!);
  g.dense(hidden, w2, b2, 'none', 'layer2', 'cmd');
  g.output('cmd', [1, 2]);
  return g.toBytes({
    opset: 17,
    name: 'turtlebot_maze_avoid',
    metadata: {
      action_names: 'linear.x,angular.z',
      observation: 'sensor_msgs/LaserScan ranges (360)',
      sectors: String(SECTORS),
      range_max: String(RANGE_MAX),
      ...metadata,
    },
  });
}
