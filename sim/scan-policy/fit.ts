// Fits the turtlebot-maze obstacle-avoidance policy and writes it as ONNX, with no Python:
//   node --import tsx sim/scan-policy/fit.ts [--out sim/turtlebot-maze/policy/avoid.onnx] [--quick]
// 1. Drives the reactive expert (scan-features.ts) in the sim core over many mazes and start poses, with
//    noise on the executed command, recording (sector minima, expert command) pairs (DAgger-style labels).
// 2. Fits a 24-32-2 tanh MLP by Adam (mlp.ts), deterministic for its seed.
// 3. Evaluates expert and policy in closed loop on mazes it never saw: metres driven and collisions.
// 4. Builds the ONNX model (scan-policy-model.ts), checks it against the TypeScript forward pass with
//    onnxruntime, and writes it with a JSON report beside it.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PolicyRunner } from '../../daemon/system1/index.ts';
import { rollout, type Controller } from './collect.ts';
import { forward, trainMlp } from './mlp.ts';
import { buildScanPolicyModel } from './scan-policy-model.ts';
import { expertCommand, RANGE_MAX } from './scan-features.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const { values } = parseArgs({ options: { out: { type: 'string' }, quick: { type: 'boolean' } } });
const out = values.out ?? join(root, 'sim', 'turtlebot-maze', 'policy', 'avoid.onnx');
const quick = values.quick ?? false;

const TRAIN_MAZES = [7, 11, 13, 17, 19, 23];
const TEST_MAZES = [29, 31, 37];
const xs: Float32Array[] = [];
const ys: Float32Array[] = [];
const episodes = quick ? 4 : 12;
for (const mazeSeed of TRAIN_MAZES) {
  for (let e = 0; e < episodes; e++) {
    const r = rollout({ mazeSeed, seed: mazeSeed * 100 + e, seconds: 60, controller: expertCommand, noise: 0.8 });
    for (let i = 0; i < r.sectors.length; i++) {
      xs.push(r.sectors[i]!.map((v) => v / RANGE_MAX));
      ys.push(Float32Array.from(r.commands[i]!));
    }
  }
}
const dims = [0, 1];
const mean = dims.map((d) => ys.reduce((a, y) => a + y[d]!, 0) / ys.length);
const scale = dims.map((d) => Math.sqrt(ys.reduce((a, y) => a + (y[d]! - mean[d]!) ** 2, 0) / ys.length) || 1);
const targets = ys.map((y) => Float32Array.from(dims, (d) => (y[d]! - mean[d]!) / scale[d]!));
const started = Date.now();
const { mlp, loss } = trainMlp(xs, targets, { hidden: 32, epochs: quick ? 20 : 120, seed: 42 });
console.log(
  `fit: ${xs.length} samples, normalized MSE ${loss.toFixed(4)}, ${((Date.now() - started) / 1000).toFixed(1)} s`,
);

const policy: Controller = (s) => {
  const y = forward(
    mlp,
    s.map((v) => v / RANGE_MAX),
  );
  return [y[0]! * scale[0]! + mean[0]!, y[1]! * scale[1]! + mean[1]!];
};
const evaluate = (c: Controller) => {
  let distance = 0;
  let collisions = 0;
  for (const mazeSeed of TEST_MAZES) {
    for (let e = 0; e < 3; e++) {
      const r = rollout({ mazeSeed, seed: 9000 + mazeSeed * 10 + e, seconds: 120, controller: c });
      distance += r.distance;
      collisions += r.collisions;
    }
  }
  return { distance_m: Number(distance.toFixed(2)), collisions, episodes: TEST_MAZES.length * 3, seconds_each: 120 };
};
const report = {
  samples: xs.length,
  normalized_mse: loss,
  expert: evaluate(expertCommand),
  policy: evaluate(policy),
};
console.log(
  `closed loop on unseen mazes: expert ${JSON.stringify(report.expert)}, policy ${JSON.stringify(report.policy)}`,
);

writeFileSync(
  out,
  buildScanPolicyModel({
    mlp,
    inputScale: 1 / RANGE_MAX,
    outputMean: mean,
    outputScale: scale,
    metadata: { fit_samples: String(xs.length), fit_script: 'sim/scan-policy/fit.ts' },
  }),
);
const { Value } = await import('typebox/value');
const { PolicyConfig } = await import('../../daemon/config/index.ts');
const runner = await PolicyRunner.open(
  'avoid',
  Value.Default(PolicyConfig, { model: out }) as import('../../daemon/config/index.ts').PolicySettings,
);
let maxDiff = 0;
const probe = rollout({ mazeSeed: TEST_MAZES[0]!, seed: 5, seconds: 20, controller: expertCommand });
for (const s of probe.sectors.slice(0, 50)) {
  // Rebuild a scan whose sector minima are s: each sector's beams at its minimum.
  const ranges = new Float32Array(360);
  for (let k = 0; k < 360; k++) ranges[(k - 7 + 360) % 360] = s[Math.floor(k / 15)]!;
  const onnx = (await runner.run({ scan: ranges })).cmd!.data;
  const ts = policy(s);
  maxDiff = Math.max(maxDiff, Math.abs(onnx[0]! - ts[0]), Math.abs(onnx[1]! - ts[1]));
}
await runner.close();
console.log(`ONNX vs TypeScript forward pass: max |diff| ${maxDiff.toExponential(2)}`);
writeFileSync(
  out.replace(/\.onnx$/, '.report.json'),
  `${JSON.stringify({ ...report, onnx_max_abs_diff: maxDiff }, null, 2)}\n`,
);
console.log(`wrote ${out}`);
