import * as ort from 'onnxruntime-node';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Value } from 'typebox/value';
import { PolicyRunner } from '../daemon/system1/index.ts';
import { VlaService } from '../daemon/system1/index.ts';
import { Bus } from '../daemon/bus/index.ts';
import { PolicyConfig, type PolicySettings } from '../daemon/config/index.ts';
import { percentile, spread, tail, type BenchResult } from './bench.ts';
import { decodeTensors, encodeTensors, TENSOR_ENCODING } from '../daemon/contract/index.ts';

// Overhead of the ai/inference/vla query over a raw session.run, for an MLP policy (mjlab_microban,
// obs [1, 63] -> actions [1, 18], 199k parameters). Both run in the same process on the same input,
// interleaved, so drift in the machine's speed hits both alike. The query side includes the caller's work:
// encoding the request, the bus round trip, decoding, input checks, the run, encoding and decoding the reply.

const MODEL = join(
  fileURLToPath(new URL('.', import.meta.url)),
  '..',
  'test',
  'fixtures',
  'onnx',
  'mjlab_microban',
  'policy.onnx',
);
const WARMUP = 500;
const SAMPLES = 5000;
const RUNS = 3;

export async function run(): Promise<BenchResult[]> {
  const session = await ort.InferenceSession.create(MODEL, {
    executionProviders: ['cpu'],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const runner = await PolicyRunner.open('mlp', Value.Default(PolicyConfig, { model: MODEL }) as PolicySettings);
  const bus = new Bus();
  const service = new VlaService(bus, runner);
  const obs = Float32Array.from({ length: 63 }, (_, i) => Math.sin(i) * 0.5);
  const feeds = { obs: new ort.Tensor('float32', obs, [1, 63]) };

  // RUNS runs of SAMPLES each after one warm-up: the figures are over all samples, and each run's overhead
  // p50 and p99 are shown with the best and the worst.
  const raw: number[] = [];
  const query: number[] = [];
  const perRun: number[] = [];
  const perRun99: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const runRaw: number[] = [];
    const runQuery: number[] = [];
    for (let i = 0; i < (run === 0 ? WARMUP : 0) + SAMPLES; i++) {
      let t = process.hrtime.bigint();
      await session.run(feeds);
      const r = Number(process.hrtime.bigint() - t) / 1000;
      t = process.hrtime.bigint();
      const reply = await bus.query(service.name, {
        encoding: TENSOR_ENCODING,
        payload: encodeTensors([{ name: 'obs', shape: [1, 63], data: obs }]),
      });
      const decoded = decodeTensors(reply.payload);
      const q = Number(process.hrtime.bigint() - t) / 1000;
      if (decoded.fields.error) throw new Error(`query failed: ${JSON.stringify(decoded.fields.error)}`);
      if (run > 0 || i >= WARMUP) {
        runRaw.push(r);
        runQuery.push(q);
      }
    }
    runRaw.sort((a, b) => a - b);
    runQuery.sort((a, b) => a - b);
    perRun.push(percentile(runQuery, 50) - percentile(runRaw, 50));
    perRun99.push(percentile(runQuery, 99) - percentile(runRaw, 99));
    raw.push(...runRaw);
    query.push(...runQuery);
  }
  await service.close();
  await runner.close();
  await session.release();
  bus.close();
  raw.sort((a, b) => a - b);
  query.sort((a, b) => a - b);
  const p = (xs: number[], q: number) => percentile(xs, q);
  const overhead50 = p(query, 50) - p(raw, 50);
  const overhead99 = p(query, 99) - p(raw, 99);
  const notes = [
    `session.run ${tail(raw, 'us', 1)}; query ${tail(query, 'us', 1)} (${RUNS} runs of ${SAMPLES})`,
    `overhead per run, us: p50 ${spread(perRun, 1)}; p99 ${spread(perRun99, 1)}`,
  ];
  return [
    {
      name: 'vla query overhead p50 (MLP 63->18)',
      ours: overhead50,
      baseline: { name: 'session.run p50', value: p(raw, 50) },
      unit: 'us',
      better: 'lower',
      goal: 'overhead <= 50 us',
      met: overhead50 <= 50,
      notes,
    },
    {
      name: 'vla query overhead p99 (MLP 63->18)',
      ours: overhead99,
      baseline: { name: 'session.run p99', value: p(raw, 99) },
      unit: 'us',
      better: 'lower',
      goal: 'overhead <= 250 us',
      met: overhead99 <= 250,
    },
  ];
}
