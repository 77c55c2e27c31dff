import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from '../test/helpers/cli.ts';
import { slope, type BenchResult } from './bench.ts';
import type { SoakChildResult, SoakSample } from './vision-soak-child.ts';
import { RIG } from './vision-rig.ts';

// Memory over a long run: bench/vision-rig.ts's 50 Hz loop with its 30 Hz 640 x 480 camera, and beside it (at the
// same time, in a process of its own) the same loop without the camera, each for AURAISON_BENCH_SOAK_S seconds
// (180 by default; the 10 minutes: AURAISON_BENCH_SOAK_S=600, within the runner's 20-minute limit).
// Each process samples its memory every AURAISON_BENCH_SOAK_SAMPLE_S seconds (5); after a warm-up (a third of the
// run, at most 120 s: the JIT, the pools of libvips and onnxruntime, V8's heap sizing; RSS with the camera settled
// after about 100 s in a 300 s run) a least-squares line through the samples gives how fast each grows, in MB a
// minute. A fit that falls counts as 0 in the table (its value is in the notes): flat is what is asked.

const SOAK_S = Number(process.env.AURAISON_BENCH_SOAK_S ?? 180);
const SAMPLE_S = Number(process.env.AURAISON_BENCH_SOAK_SAMPLE_S ?? 5);
const WARMUP_S = Math.min(120, SOAK_S / 3);
/** Flat: at most this many MB a minute (10 MB over the 10 minutes). */
const FLAT_MB_PER_MIN = 1;
const CHILD = join(import.meta.dirname, 'vision-soak-child.ts');

async function soak(camera: boolean, dir: string): Promise<SoakChildResult> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', CHILD, String(SOAK_S), String(SAMPLE_S), camera ? 'camera' : 'none', dir],
    { encoding: 'utf8', maxBuffer: 1 << 24, timeout: (SOAK_S + 120) * 1000, killSignal: 'SIGKILL' },
  );
  return JSON.parse(stdout.trim().split('\n').pop()!) as SoakChildResult;
}

const MB = 1024 * 1024;

/** MB a minute that `figure` grows by after the warm-up. */
function growth(samples: SoakSample[], figure: (s: SoakSample) => number): number {
  const after = samples.filter((s) => s.s >= WARMUP_S);
  return slope(
    after.map((s) => s.s / 60),
    after.map((s) => figure(s) / MB),
  );
}

export async function run(): Promise<BenchResult[]> {
  const work = tempDir('bench-vision-soak-');
  try {
    // The two write different models into the same directory.
    const [withCamera, without] = await Promise.all([soak(true, work.path), soak(false, work.path)]);
    const figures = {
      rss: (s: SoakSample) => s.rss,
      heapUsed: (s: SoakSample) => s.heapUsed,
      arrayBuffers: (s: SoakSample) => s.arrayBuffers,
    };
    const slopes = (r: SoakChildResult) =>
      Object.fromEntries(Object.entries(figures).map(([k, f]) => [k, growth(r.samples, f)])) as Record<
        keyof typeof figures,
        number
      >;
    const [ours, base] = [slopes(withCamera), slopes(without)];
    const list = (r: SoakChildResult, figure: (s: SoakSample) => number) =>
      r.samples.map((s) => (figure(s) / MB).toFixed(0)).join(' ');
    const run = (r: SoakChildResult) =>
      `${r.ticks} ticks, ${r.missed} missed, ${r.stale} stale, ${r.frames} frames published, ${r.refused} refused`;
    const signed = (which: keyof typeof figures) =>
      `with the camera ${ours[which].toFixed(3)}, without ${base[which].toFixed(3)} MB/min`;
    const name = `vision soak, ${RIG.rateHz} Hz loop, ${RIG.camera.rateHz} Hz ${RIG.camera.width}x${RIG.camera.height} camera, ${SOAK_S} s`;
    const baselineName = 'the same loop without a camera, at the same time';
    const grows = (v: number) => Math.max(0, v);
    return [
      {
        name: `${name}: RSS growth after ${WARMUP_S} s`,
        ours: grows(ours.rss),
        baseline: { name: baselineName, value: grows(base.rss) },
        unit: 'MB/min',
        better: 'lower',
        goal: `flat: <= ${FLAT_MB_PER_MIN} MB/min`,
        met: ours.rss <= FLAT_MB_PER_MIN,
        notes: [
          `fits (signed): RSS ${signed('rss')}; heap ${signed('heapUsed')}; ArrayBuffers ${signed('arrayBuffers')}`,
          `RSS every ${SAMPLE_S} s, MB: with the camera ${list(withCamera, figures.rss)}; without ${list(without, figures.rss)}`,
          `heap used every ${SAMPLE_S} s, MB: with the camera ${list(withCamera, figures.heapUsed)}; without ${list(without, figures.heapUsed)}`,
          `loops: with the camera ${run(withCamera)}; without ${run(without)}`,
        ],
      },
      {
        name: `${name}: main thread's heap growth after ${WARMUP_S} s`,
        ours: grows(ours.heapUsed),
        baseline: { name: baselineName, value: grows(base.heapUsed) },
        unit: 'MB/min',
        better: 'lower',
        goal: `flat: <= ${FLAT_MB_PER_MIN} MB/min`,
        met: ours.heapUsed <= FLAT_MB_PER_MIN,
      },
    ];
  } finally {
    work.cleanup();
  }
}
