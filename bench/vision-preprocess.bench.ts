import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import sharp from 'sharp';
import { Value } from 'typebox/value';
import { DefinitionsRegistry, MessageCodec } from '../daemon/bus/index.ts';
import { PolicyConfig, type PolicySettings } from '../daemon/config/index.ts';
import { createNormalizer } from '../daemon/system1/normalization.ts';
import { FrameDecoder } from '../daemon/system1/vision/frame-decoder.ts';
import type { FrameTarget, RawImage } from '../daemon/system1/vision/raw-pixels.ts';
import { FrameSlot } from '../daemon/system1/vision/frame-slot.ts';
import { frameToInput } from '../daemon/system1/vision/frame-tensor.ts';
import { resolveImageInput } from '../daemon/system1/vision/image-input.ts';
import { tempDir } from '../test/helpers/cli.ts';
import { lerobotPython } from '../test/peers/index.ts';
import { percentile, skippedResult, spread, tail, type BenchResult } from './bench.ts';
import { IMAGE, imageMessage, syntheticFrame } from './synthetic-camera.ts';
import { errorText } from '../daemon/util/index.ts';

// A 640 x 480 rgb8 camera frame to a 3 x 224 x 224 float32 policy input, as a control loop's path does it: the
// message's CDR decoded, the frame resized in a decode process (FrameDecoder: sharp there, the frame's bytes through
// its memory file and its resized pixels returned over the process's channel), written into its shared frame slot
// and read from it into the input's tensor (frameToInput: channels first, / 255), then ImageNet's normalization per
// channel (createNormalizer, as PolicyRunner applies it). Baseline: the same in one Python process with Pillow's
// bilinear resize and numpy (test/peers/python/pillow_preprocess.py in LeRobot's venv), timed by itself per frame.
// Both run in turns of BATCH frames, so the machine's drift hits both alike. The tensors they give are compared.

const [WIDTH, HEIGHT, SIZE] = [640, 480, 224];
const FRAMES = Number(process.env.BENCH_VISION_FRAMES ?? 500);
const WARMUP = 50;
const BATCH = 50;
const PILLOW_SCRIPT = join(import.meta.dirname, '..', 'test', 'peers', 'python', 'pillow_preprocess.py');

/** pillow_preprocess.py, kept running: each command's one JSON line of answer. */
class PillowBaseline {
  readonly #child: ChildProcess;
  readonly #lines: Interface;
  readonly #pending: ((line: string) => void)[] = [];
  #stderr = '';

  constructor(python: string, frame: string) {
    this.#child = spawn(python, [PILLOW_SCRIPT, frame, String(WIDTH), String(HEIGHT), String(SIZE), String(SIZE)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.#child.stderr!.on('data', (chunk: Buffer) => (this.#stderr = (this.#stderr + chunk.toString()).slice(-4096)));
    this.#lines = createInterface({ input: this.#child.stdout! });
    this.#lines.on('line', (line) => this.#pending.shift()?.(line));
    this.#child.on('exit', (code) => {
      for (const reject of this.#pending.splice(0))
        reject(JSON.stringify({ error: `pillow_preprocess.py exited (${code}): ${this.#stderr}` }));
    });
  }

  /** Its first line: the versions, once numpy and Pillow are loaded. */
  ready(): Promise<{ pillow: string; numpy: string }> {
    return this.#answer<{ ready: { pillow: string; numpy: string } }>().then((a) => a.ready);
  }

  async frames(n: number): Promise<number[]> {
    this.#child.stdin!.write(`${n}\n`);
    return (await this.#answer<{ ms: number[] }>()).ms;
  }

  async dump(path: string): Promise<Float32Array> {
    this.#child.stdin!.write(`dump ${path}\n`);
    await this.#answer();
    const bytes = readFileSync(path);
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  }

  close(): void {
    this.#child.stdin!.end();
  }

  #answer<T>(): Promise<T> {
    return new Promise<string>((resolve) => this.#pending.push(resolve)).then((line) => {
      const answer = JSON.parse(line) as T & { error?: string };
      if (answer.error) throw new Error(answer.error);
      return answer;
    });
  }
}

/** The loop's path for one frame, timed by stage (ms): CDR decode, decode process, slot write and read, normalize. */
function loopPath() {
  const codec = new MessageCodec(new DefinitionsRegistry());
  const policy = Value.Default(PolicyConfig, {
    model: 'unused.onnx',
    inputs: { image: { image: { topic: '/camera' }, normalize: { mode: 'imagenet' } } },
  }) as PolicySettings;
  const input = policy.inputs.image!;
  const spec = resolveImageInput('bench', { name: 'image', dtype: 'float32', shape: [1, 3, SIZE, SIZE] }, input.image!);
  const target: FrameTarget = {
    width: SIZE,
    height: SIZE,
    channels: 3,
    resize: input.image!.resize,
    maxPixels: input.image!.max_pixels,
  };
  const normalizer = createNormalizer(input.normalize, 3, {}, 'bench', SIZE * SIZE);
  const slot = new FrameSlot({ width: SIZE, height: SIZE, channels: 3, depth16: false });
  const tensor = new Float32Array(3 * SIZE * SIZE);
  const decoder = new FrameDecoder({ name: 'bench camera', timeoutMs: input.image!.decode_timeout_ms });
  return {
    tensor,
    close: () => decoder.close(),
    async run(bytes: Uint8Array): Promise<{ total: number; cdr: number; decode: number; slot: number; norm: number }> {
      const t0 = performance.now();
      const message = codec.decode<RawImage>(IMAGE, bytes);
      const t1 = performance.now();
      const frame = await decoder.decode(message, target);
      const t2 = performance.now();
      slot.write(frame, t2);
      slot.read((pixels, order) => frameToInput(pixels, order, spec, tensor));
      const t3 = performance.now();
      normalizer.normalize(tensor);
      const t4 = performance.now();
      return { total: t4 - t0, cdr: t1 - t0, decode: t2 - t1, slot: t3 - t2, norm: t4 - t3 };
    },
  };
}

export async function run(): Promise<BenchResult[]> {
  let python: string;
  try {
    python = lerobotPython();
  } catch (error) {
    // No baseline, no figures: one row saying so, and the other benches run.
    return skippedResult('vision preprocess', 'ms', errorText(error));
  }
  const work = tempDir('bench-vision-preprocess-');
  const pixels = syntheticFrame(WIDTH, HEIGHT);
  const framePath = join(work.path, 'frame.rgb');
  writeFileSync(framePath, pixels);
  const bytes = imageMessage(new MessageCodec(new DefinitionsRegistry()), WIDTH, HEIGHT, pixels);
  const baseline = new PillowBaseline(python, framePath);
  const ours = loopPath();
  try {
    const versions = await baseline.ready();
    const stages = { cdr: [] as number[], decode: [] as number[], slot: [] as number[], norm: [] as number[] };
    const oursMs: number[] = [];
    const baseMs: number[] = [];
    const batchP99 = { ours: [] as number[], base: [] as number[] };
    for (let i = 0; i < WARMUP; i++) await ours.run(bytes);
    await baseline.frames(WARMUP);
    for (let done = 0; done < FRAMES; done += BATCH) {
      const n = Math.min(BATCH, FRAMES - done);
      const batch: number[] = [];
      for (let i = 0; i < n; i++) {
        const { total, ...stage } = await ours.run(bytes);
        batch.push(total);
        for (const key of Object.keys(stages) as (keyof typeof stages)[]) stages[key].push(stage[key]);
      }
      const base = await baseline.frames(n);
      batchP99.ours.push(
        percentile(
          batch.sort((a, b) => a - b),
          99,
        ),
      );
      batchP99.base.push(
        percentile(
          base.sort((a, b) => a - b),
          99,
        ),
      );
      oursMs.push(...batch);
      baseMs.push(...base);
    }
    const theirs = await baseline.dump(join(work.path, 'tensor.f32'));
    // The two resizes are both bilinear with antialiasing, not the same code: how far apart, in 8-bit levels.
    let worst = 0;
    let sum = 0;
    const std = [0.229, 0.224, 0.225];
    for (let i = 0; i < theirs.length; i++) {
      const levels = Math.abs(theirs[i]! - ours.tensor[i]!) * std[Math.floor(i / (SIZE * SIZE))]! * 255;
      worst = Math.max(worst, levels);
      sum += levels;
    }
    const sorted = (xs: number[]) => xs.slice().sort((a, b) => a - b);
    const [o, b] = [sorted(oursMs), sorted(baseMs)];
    const [o50, o99, b50, b99] = [percentile(o, 50), percentile(o, 99), percentile(b, 50), percentile(b, 99)];
    const name = `vision preprocess ${WIDTH}x${HEIGHT} rgb8 -> 3x${SIZE}x${SIZE} float32, ImageNet-normalized`;
    const baselineName = `Pillow ${versions.pillow} bilinear + numpy ${versions.numpy}, one Python process`;
    const notes = [
      `${FRAMES} frames each after ${WARMUP} warm-up, in turns of ${BATCH}: ours ${tail(o, 'ms', 3)}; baseline ${tail(b, 'ms', 3)}`,
      `ours by stage: CDR decode ${tail(sorted(stages.cdr), 'ms', 3)}; the decode process (sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}; the frame there through memory, back over its channel) ${tail(sorted(stages.decode), 'ms', 3)}; frame slot write + frameToInput ${tail(sorted(stages.slot), 'ms', 3)}; normalize ${tail(sorted(stages.norm), 'ms', 3)}`,
      `p99 per turn of ${BATCH}, ms: ours ${spread(batchP99.ours, 2)}; baseline ${spread(batchP99.base, 2)}`,
      `the two tensors differ by ${(sum / theirs.length).toFixed(2)} 8-bit levels on average, ${worst.toFixed(1)} at most (both bilinear with antialiasing, different code)`,
    ];
    return [
      {
        name: `${name}: p99`,
        ours: o99,
        baseline: { name: baselineName, value: b99 },
        unit: 'ms',
        better: 'lower',
        goal: '<= 2x the baseline',
        met: o99 <= 2 * b99,
        notes,
      },
      {
        name: `${name}: p50`,
        ours: o50,
        baseline: { name: baselineName, value: b50 },
        unit: 'ms',
        better: 'lower',
        goal: '<= 1.5x the baseline',
        met: o50 <= 1.5 * b50,
      },
    ];
  } finally {
    baseline.close();
    await ours.close();
    work.cleanup();
  }
}
