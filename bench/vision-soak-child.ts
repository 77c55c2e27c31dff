// Child process of vision-soak.bench.ts: runs bench/vision-rig.ts's loop (with or without its camera) for SECONDS
// and samples this process's memory every SAMPLE_S seconds; prints one JSON line at the end. A process of its own,
// so that nothing else's memory counts.
//   node --import tsx bench/vision-soak-child.ts SECONDS SAMPLE_S camera|none DIR
import { startVisionRig } from './vision-rig.ts';
import { sleep } from '../daemon/util/index.ts';

export interface SoakSample {
  /** Seconds since the loop started. */
  s: number;
  rss: number;
  heapUsed: number;
  /** ArrayBuffers (frames are), in and out of V8's heap. */
  arrayBuffers: number;
}

export interface SoakChildResult {
  samples: SoakSample[];
  ticks: number;
  missed: number;
  stale: number;
  frames: number;
  refused: number;
}

const [seconds, sampleS, camera, dir] = [
  Number(process.argv[2]),
  Number(process.argv[3]),
  process.argv[4] === 'camera',
  process.argv[5]!,
];
const rig = await startVisionRig({ dir, camera, recorder: false });
const started = performance.now();
const samples: SoakSample[] = [];
while (performance.now() - started < seconds * 1000) {
  await sleep(sampleS * 1000);
  const { rss, heapUsed, arrayBuffers } = process.memoryUsage();
  samples.push({ s: (performance.now() - started) / 1000, rss, heapUsed, arrayBuffers });
}
const stats = rig.control.stats();
const frames = rig.frames();
await rig.close();
const result: SoakChildResult = {
  samples,
  ticks: stats.ticks,
  missed: stats.missedDeadlines,
  stale: stats.staleTicks,
  frames,
  refused: stats.observationErrors,
};
// Whatever a library left running (a thread pool) must not keep the run's result waiting.
process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
