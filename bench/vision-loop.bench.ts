import type { ControlLoopStats } from '../daemon/system1/index.ts';
import { tempDir } from '../test/helpers/cli.ts';
import { spread, tail, type BenchResult } from './bench.ts';
import { emptyLoop, type EmptyLoopRun } from './empty-loop.ts';
import { RIG, startVisionRig } from './vision-rig.ts';

// A 50 Hz control loop fed by a 30 Hz 640 x 480 rgb8 camera, each frame resized to the model's 3 x 224 x 224 input,
// beside a 6-element state, while the recorder writes 10 MB/s into an MCAP bag: bench/vision-rig.ts (the camera itself
// is not recorded; the model is the vision test model, so the loop and its camera are measured, not a network).
// Baseline: an empty 50 Hz loop beside it, at the same scheduling (bench/empty-loop.ts): the deadlines the platform
// misses with no work at all. RUNS runs of SECONDS each, summed; each run's count is shown. Each run measures the loop
// in a thread, then in a process of its own (isolation: process: frames through a tmpfs file it maps), each with its
// empty loop beside it.

const SECONDS = Number(process.env.BENCH_VISION_LOOP_SECONDS ?? 20);
const RUNS = Number(process.env.BENCH_VISION_LOOP_RUNS ?? 3);
const { rateHz: RATE_HZ, camera: CAMERA, size: SIZE } = RIG;

interface Run {
  /** The loop's counters over the empty loop's window. */
  stats: Pick<ControlLoopStats, 'ticks' | 'missedDeadlines' | 'staleTicks' | 'skipped' | 'errors'>;
  observationErrors: number;
  scheduling: string;
  jitter: number[];
  latency: number[];
  floor: EmptyLoopRun;
  frames: number;
  written: number;
  drops: number;
}

async function measure(dir: string, isolation: 'thread' | 'process'): Promise<Run> {
  const rig = await startVisionRig({ dir, camera: true, recorder: true, isolation });
  const { control } = rig;
  try {
    const before = control.stats();
    const framesBefore = rig.frames();
    const floor = await emptyLoop(SECONDS, RATE_HZ, rig.loop);
    const after = control.stats();
    const recent = control.recent();
    const ticks = after.ticks - before.ticks;
    const since = (key: keyof ControlLoopStats) => (after[key] as number) - (before[key] as number);
    const window = (samples: Float32Array) =>
      Array.from(samples.subarray(Math.max(0, samples.length - ticks))).sort((a, b) => a - b);
    const frames = rig.frames() - framesBefore;
    return {
      stats: {
        ticks,
        missedDeadlines: since('missedDeadlines'),
        staleTicks: since('staleTicks'),
        skipped: since('skipped'),
        errors: since('errors'),
      },
      observationErrors: since('observationErrors'),
      scheduling: after.scheduling,
      jitter: window(recent.jitterUs),
      latency: window(recent.latencyUs),
      floor,
      frames,
      ...(await rig.close()),
    };
  } catch (error) {
    await rig.close();
    throw error;
  }
}

/** p50 / p99 / p99.9 / max of sorted us, in ms. */
const tailMs = (sorted: readonly number[]): string => tail(sorted.map((us) => us / 1000));

export async function run(): Promise<BenchResult[]> {
  const work = tempDir('bench-vision-loop-');
  try {
    const runs: { thread: Run; process: Run }[] = [];
    for (let i = 0; i < RUNS; i++)
      runs.push({ thread: await measure(work.path, 'thread'), process: await measure(work.path, 'process') });
    const thread = runs.map((r) => r.thread);
    const proc = runs.map((r) => r.process);
    return [result('vision loop', thread), result('vision loop in a process (isolation: process)', proc)];
  } finally {
    work.cleanup();
  }
}

/** One isolation's row, its runs summed. */
function result(label: string, runs: Run[]): BenchResult {
  const sum = (figure: (r: Run) => number) => runs.reduce((n, r) => n + figure(r), 0);
  const sorted = (figure: (r: Run) => number[]) => runs.flatMap(figure).sort((a, b) => a - b);
  const missed = sum((r) => r.stats.missedDeadlines);
  const floor = sum((r) => r.floor.missed);
  const seconds = SECONDS * RUNS;
  const first = runs[0]!;
  return {
    name: `${label} ${RATE_HZ} Hz, camera ${CAMERA.width}x${CAMERA.height} at ${CAMERA.rateHz} Hz -> 3x${SIZE}x${SIZE}, recorder 10 MB/s, ${seconds} s: missed deadlines`,
    ours: missed,
    baseline: { name: 'empty loop beside it, same scheduling: the floor', value: floor },
    unit: 'ticks',
    better: 'lower',
    goal: "<= 2x the empty loop's",
    met: missed <= 2 * floor,
    notes: [
      `${RUNS} runs of ${SECONDS} s: ${sum((r) => r.stats.ticks)} ticks, ${missed} missed, ${sum((r) => r.stats.skipped)} skipped, ${sum((r) => r.stats.staleTicks)} stale, ${sum((r) => r.stats.errors)} errors, ${sum((r) => r.observationErrors)} frames refused; ${sum((r) => r.frames)} frames published (${(sum((r) => r.frames) / seconds).toFixed(1)} a second); loop thread ${first.scheduling}, empty loop ${first.floor.scheduling}; recorder ${(sum((r) => r.written) / seconds / 1e6).toFixed(1)} MB/s, ${sum((r) => r.drops)} recorder drops`,
      `missed per run: ours ${spread(
        runs.map((r) => r.stats.missedDeadlines),
        0,
      )}; empty loop ${spread(
        runs.map((r) => r.floor.missed),
        0,
      )}`,
      `tick latency (scheduled start to command sent): ${tailMs(sorted((r) => r.latency))}`,
      `wake-up jitter: loop ${tailMs(sorted((r) => r.jitter))}; empty loop ${tailMs(sorted((r) => r.floor.jitter))}`,
    ],
  };
}
