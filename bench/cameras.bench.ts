import { readdirSync, readFileSync } from 'node:fs';
import sharp from 'sharp';
import { Value } from 'typebox/value';
import { CamerasConfig } from '../daemon/config/sections/cameras.ts';
import { tempDir } from '../test/helpers/cli.ts';
import { costlyPng } from '../test/helpers/hostile-frames.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { codec, COMPRESSED, FRONT, IMAGE, startCameraDaemon } from '../test/system1/camera-daemon.ts';
import { percentile, tail, type BenchResult } from './bench.ts';
import { sleep } from '../daemon/util/index.ts';
import { syntheticFrame } from './synthetic-camera.ts';

// Eight cameras on a small computer (issue 72): a daemon with eight camera loops at 30 Hz, each a 640 x 480 JPEG camera
// into a 3 x 224 x 224 input, and three served policies, each queried with a 640 x 480 JPEG every 100 ms. Measured:
// the daemon's RSS with its decode processes (the bench's process hosts the daemon; its decode processes are its
// children), against the same daemon with a decode process per camera and input (cameras.decode_processes: 11, as
// the daemon ran before its decode pool), in the same run; then, with four of the cameras flooded with costly frames
// (a 4096 x 4096 PNG and a raw Image 16,777,216 rows tall, each within max_pixels), the other four loops' fresh ticks
// against the same loops before the flood, and the operator's stop's release against the same daemon idle.

const CAMERAS = 8;
const SERVED = 3;
const PHASE_MS = Number(process.env.BENCH_CAMERAS_PHASE_MS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_CAMERAS_ROUNDS ?? 30);
/** The pool's memory budget by default, which the daemon under test runs with. */
const BUDGET_MB = (Value.Default(CamerasConfig, {}) as { decode_memory_mb: number }).decode_memory_mb;

/** RSS of this process and of each decode process it started (Linux: /proc), bytes. */
function rss(): { self: number; decoders: number; count: number } {
  const kb = (status: string) => Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
  let decoders = 0;
  let count = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = readFileSync(`/proc/${name}/status`, 'utf8');
      if (Number(/PPid:\s+(\d+)/.exec(status)?.[1]) !== process.pid) continue;
      if (!readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('frame-decoder-child')) continue;
      decoders += kb(status);
      count++;
    } catch {
      // Gone meanwhile.
    }
  }
  return { self: kb(readFileSync('/proc/self/status', 'utf8')), decoders, count };
}

interface Layout {
  /** The most RSS seen, this process and its decode processes together, and the decode processes' part of it. */
  rss: { total: number; decoders: number; processes: number };
  /** The share of commands from fresh frames: of all eight loops before the flood, of the four good ones during it. */
  fresh: { all: number; during: number };
  /** POST /stop/release after POST /stop, ms, sorted: idle, and during the flood. */
  release: { idle: number[]; flooded: number[] };
}

async function runLayout(dir: string, cameras: Record<string, unknown>): Promise<Layout> {
  const names = Array.from({ length: CAMERAS }, (_, i) => `cam${i}`);
  const served = Array.from({ length: SERVED }, (_, i) => `served${i}`);
  const daemon = await startCameraDaemon({
    dir,
    loops: Object.fromEntries(names.map((n) => [n, {}])),
    served,
    cameras,
    input: { width: 224, height: 224 },
    rateHz: 30,
  });
  const timers: NodeJS.Timeout[] = [];
  let querying = true;
  const queries: Promise<void>[] = [];
  try {
    const releases = async () => {
      const ms: number[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        await daemon.post('/stop', {});
        const started = performance.now();
        await daemon.post('/stop/release', {});
        ms.push(performance.now() - started);
      }
      return ms.sort((a, b) => a - b);
    };
    const idle = await releases();
    // A release lets the robot move again; it does not move it: each loop is started again, as an operator would.
    for (const name of names) await daemon.post(`/control/loops/${name}/start`, {});

    const jpegs = await Promise.all(
      [0, 1, 2, 3].map((seed) =>
        sharp(syntheticFrame(640, 480, seed), { raw: { width: 640, height: 480, channels: 3 } })
          .jpeg({ quality: 90 })
          .toBuffer(),
      ),
    );
    const frames = jpegs.map((data) => codec.encode(COMPRESSED, { format: 'jpeg', data }));
    const publishers = names.map((n) => daemon.camera(n, COMPRESSED));
    const flooding = new Set<number>();
    let sent = 0;
    timers.push(
      setInterval(() => {
        sent++;
        // Each message a fresh buffer, as a driver's is.
        publishers.forEach((p, i) => flooding.has(i) || p.publish(frames[(sent + i) % frames.length]!.slice()));
      }, 1000 / 30),
    );
    const input = { [FRONT]: { format: 'jpeg', data: jpegs[0]!.toString('base64') } };
    for (const name of served)
      queries.push(
        (async () => {
          while (querying) {
            await daemon.post(`/inference/vla/${name}`, { input }).catch(() => {});
            await sleep(100);
          }
        })(),
      );
    const most = { total: 0, decoders: 0, processes: 0 };
    timers.push(
      setInterval(() => {
        const now = rss();
        most.total = Math.max(most.total, now.self + now.decoders);
        most.decoders = Math.max(most.decoders, now.decoders);
        most.processes = Math.max(most.processes, now.count);
      }, 250),
    );
    const good = names.slice(0, CAMERAS / 2);
    const share = (from: number[], loops = good) => {
      let [fresh, all] = [0, 0];
      loops.forEach((n, i) => {
        const ticks = daemon.fresh[n]!.slice(from[i]);
        all += ticks.length;
        fresh += ticks.filter(Boolean).length;
      });
      return all === 0 ? NaN : fresh / all;
    };
    await waitFor(() => good.every((n) => daemon.fresh[n]!.slice(-10).some(Boolean)), 'the cameras seen', 120_000);
    let mark = names.map((n) => daemon.fresh[n]!.length);
    await sleep(PHASE_MS);
    const all = share(mark, names);

    const png = codec.encode(COMPRESSED, { format: 'png', data: await costlyPng() });
    const height = 16_777_216;
    const tall = codec.encode(IMAGE, { height, width: 1, encoding: 'rgb8', step: 4, data: new Uint8Array(4 * height) });
    for (let i = CAMERAS / 2; i < CAMERAS; i++) flooding.add(i);
    let floods = 0;
    timers.push(
      setInterval(() => {
        floods++;
        for (const i of flooding) publishers[i]!.publish(floods % 2 === 0 ? png : tall);
      }, 100),
    );
    mark = good.map((n) => daemon.fresh[n]!.length);
    await sleep(PHASE_MS);
    const during = share(mark);
    const flooded = await releases();
    return { rss: most, fresh: { all, during }, release: { idle, flooded } };
  } finally {
    querying = false;
    timers.forEach(clearInterval);
    await Promise.all(queries);
    await daemon.stop();
  }
}

export async function run(): Promise<BenchResult[]> {
  const work = tempDir('bench-cameras-');
  try {
    // The layout before the pool first: what it leaves in this process's heap counts against the pool's figures.
    const perInput = await runLayout(work.path, { decode_processes: CAMERAS + SERVED, decode_memory_mb: 65_536 });
    const pool = await runLayout(work.path, {});
    const mb = (bytes: number) => bytes / 2 ** 20;
    const what = `${CAMERAS} cameras 640x480 JPEG at 30 Hz (loops at 30 Hz, inputs 3x224x224) and ${SERVED} served policies queried every 100 ms`;
    const [ours, idle] = [percentile(pool.release.flooded, 99), percentile(pool.release.idle, 99)];
    const pct = (x: number) => x * 100;
    return [
      {
        name: `daemon RSS with its decode processes, ${what}: most seen`,
        ours: mb(pool.rss.total),
        baseline: {
          name: `a decode process per camera and input (${CAMERAS + SERVED})`,
          value: mb(perInput.rss.total),
        },
        unit: 'MB',
        better: 'lower',
        goal: `below the baseline; the decode processes within cameras.decode_memory_mb (${BUDGET_MB})`,
        met: pool.rss.total < perInput.rss.total && mb(pool.rss.decoders) <= BUDGET_MB,
        notes: [
          `decode processes: ours ${pool.rss.processes}, ${mb(pool.rss.decoders).toFixed(0)} MB at most; baseline ${perInput.rss.processes}, ${mb(perInput.rss.decoders).toFixed(0)} MB at most`,
        ],
      },
      {
        name: `fresh ticks of the 8 camera loops, ${what}`,
        ours: pct(pool.fresh.all),
        baseline: {
          name: `a decode process per camera and input (${CAMERAS + SERVED})`,
          value: pct(perInput.fresh.all),
        },
        unit: '%',
        better: 'higher',
        goal: '100%',
        met: pool.fresh.all === 1,
      },
      {
        name: `fresh ticks of 4 of those loops while the 4 other cameras are flooded (a 4096x4096 PNG, a 1x16777216 raw Image)`,
        ours: pct(pool.fresh.during),
        baseline: {
          name: `a decode process per camera and input (${CAMERAS + SERVED})`,
          value: pct(perInput.fresh.during),
        },
        unit: '%',
        better: 'higher',
        goal: '100%',
        met: pool.fresh.during === 1,
      },
      {
        name: `POST /stop/release after POST /stop, ${what}, 4 of them flooded: p99`,
        ours,
        baseline: { name: 'the same daemon idle', value: idle },
        unit: 'ms',
        better: 'lower',
        goal: 'within 50 ms of idle',
        met: ours <= idle + 50,
        notes: [
          `${ROUNDS} rounds each: flooded ${tail(pool.release.flooded, 'ms')}; idle ${tail(pool.release.idle, 'ms')}`,
          `a decode process per input: flooded ${tail(perInput.release.flooded, 'ms')}; idle ${tail(perInput.release.idle, 'ms')}`,
        ],
      },
    ];
  } finally {
    work.cleanup();
  }
}
