import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir, runMain } from '../test/helpers/cli.ts';
import { imageMessage, writeBag, type BagMessage } from '../test/helpers/camera-bag.ts';
import { skippedResult, type BenchResult } from './bench.ts';
import { syntheticFrame } from './synthetic-camera.ts';

// Video export speed: `lerobot export` of one 640 x 480 rgb8 camera recorded at 30 fps (SECONDS of it, a bag brought
// into the lakehouse by `bag import`) as a LeRobot video feature, AV1 (libsvtav1, LeRobot's default) and H.264
// (libx264), on this machine's cores. Ours: the whole export command, in process (the lakehouse read, the frames
// decoded from the bag and piped to ffmpeg, the parquet and metadata written), as frames a second and as x real
// time. Baseline: ffmpeg alone running the very command line the export ran (caught by a wrapper on the PATH),
// reading the same raw frames from a file instead of the pipe: the ratio is what the export adds to the encoder.

const SECONDS = Number(process.env.BENCH_VISION_EXPORT_SECONDS ?? 10);
const [WIDTH, HEIGHT, FPS] = [640, 480, 30];
const FRAMES = SECONDS * FPS;
const T0 = 1_700_000_000_000_000_000n;
const at = (frame: number) => T0 + (BigInt(frame) * 1_000_000_000n) / BigInt(FPS);

/**
 * A directory with an `ffmpeg` that writes its arguments (NUL-separated) to ARGS/PID.args and when it started and
 * ended (ns since the epoch) to ARGS/PID.times, around a run of the real one.
 */
function ffmpegWrapper(dir: string, ffmpeg: string): { bin: string; args: string } {
  const bin = join(dir, 'bin');
  const args = join(dir, 'args');
  mkdirSync(bin);
  mkdirSync(args);
  writeFileSync(
    join(bin, 'ffmpeg'),
    [
      '#!/bin/sh',
      `out='${args}/'$$`,
      `printf '%s\\0' "$@" > "$out.args"`,
      'date +%s%N > "$out.times"',
      `'${ffmpeg}' "$@"`,
      'code=$?',
      'date +%s%N >> "$out.times"',
      'exit $code',
      '',
    ].join('\n'),
  );
  chmodSync(join(bin, 'ffmpeg'), 0o755);
  return { bin, args };
}

/** SECONDS of the camera in a bag brought into a lakehouse by `bag import`, and the same frames raw in a file. */
async function recordCamera(dir: string): Promise<{ config: string; raw: string }> {
  const raw = join(dir, 'frames.rgb');
  const messages: BagMessage[] = [];
  const frames: Uint8Array[] = [];
  for (let i = 0; i < FRAMES; i++) {
    const data = syntheticFrame(WIDTH, HEIGHT, i);
    frames.push(data);
    messages.push({
      topic: '/camera/image_raw',
      type: 'sensor_msgs/msg/Image',
      logTime: at(i),
      message: imageMessage(WIDTH, HEIGHT, 'rgb8', data),
    });
  }
  writeFileSync(raw, Buffer.concat(frames));
  const bag = join(dir, 'camera.mcap');
  await writeBag(bag, messages);
  const config = join(dir, 'edge.yaml');
  writeFileSync(config, `data_dir: ${join(dir, 'data')}\nlog: {level: warn}\n`);
  const imported = await runMain(['bag', 'import', bag, '--config', config], { cwd: dir });
  if (imported.code !== 0) throw new Error(`bag import failed: ${imported.stderr}`);
  return { config, raw };
}

/** One run of the wrapped ffmpeg: its arguments, and how long it ran (s). */
function ffmpegRuns(argsDir: string): { args: string[]; seconds: number }[] {
  return readdirSync(argsDir)
    .filter((f) => f.endsWith('.args'))
    .map((f) => {
      const [began, ended] = readFileSync(join(argsDir, f.replace(/args$/, 'times')), 'utf8')
        .trim()
        .split('\n')
        .map(BigInt);
      const args = readFileSync(join(argsDir, f), 'utf8').split('\0').slice(0, -1); // NUL-terminated
      return { args, seconds: Number(ended! - began!) / 1e9 };
    });
}

export async function run(): Promise<BenchResult[]> {
  let ffmpeg: string;
  try {
    ffmpeg = execFileSync('sh', ['-c', 'command -v ffmpeg'], { encoding: 'utf8' }).trim();
  } catch {
    return skippedResult('vision export', 'fps', 'no ffmpeg on the PATH (apt install ffmpeg)');
  }
  const work = tempDir('bench-vision-export-');
  try {
    const wrapper = ffmpegWrapper(work.path, ffmpeg);
    const { config, raw } = await recordCamera(work.path);
    const results: BenchResult[] = [];
    for (const codec of ['av1', 'h264'] as const) {
      const out = join(work.path, `dataset-${codec}`);
      rmSync(wrapper.args, { recursive: true, force: true });
      mkdirSync(wrapper.args);
      const began = performance.now();
      const cpu = process.cpuUsage();
      const exported = await runMain(
        [
          ...['lerobot', 'export', out, '--config', config, '--fps', String(FPS), '--video-codec', codec, '--json'],
          ...['--feature', 'observation.images.front=/camera/image_raw', '--window', `${at(0)},${at(FRAMES)}`],
        ],
        { cwd: work.path, env: { PATH: `${wrapper.bin}:${process.env.PATH ?? ''}` } },
      );
      const oursS = (performance.now() - began) / 1000;
      const used = process.cpuUsage(cpu);
      if (exported.code !== 0) throw new Error(`lerobot export (${codec}) failed: ${exported.stderr}`);
      const { frames: written } = JSON.parse(exported.stdout) as { frames: number };
      const runs = ffmpegRuns(wrapper.args);
      const encode = runs.find((r) => r.args.includes('pipe:0'));
      if (!encode) throw new Error(`the export ran no ffmpeg reading a pipe (its runs: ${JSON.stringify(runs)})`);
      // The same command line, the frames from the file, the video elsewhere (... -y PATH).
      const target = encode.args.at(-1)!;
      const alone = join(work.path, `alone-${codec}.mp4`);
      const args = encode.args.map((a) => (a === 'pipe:0' ? raw : a === target ? alone : a));
      const t = performance.now();
      await promisify(execFile)(ffmpeg, args, { env: { ...process.env, SVT_LOG: '2' } });
      const aloneS = (performance.now() - t) / 1000;
      const [oursFps, aloneFps] = [written / oursS, FRAMES / aloneS];
      const video = join(out, 'videos', 'observation.images.front', 'chunk-000', 'file-000.mp4');
      const mb = (path: string) => (statSync(path).size / 1e6).toFixed(2);
      results.push({
        name: `vision export, one ${WIDTH}x${HEIGHT} camera at ${FPS} fps, ${SECONDS} s, ${codec === 'av1' ? 'AV1 (libsvtav1)' : 'H.264 (libx264)'}: frames encoded a second`,
        ours: oursFps,
        baseline: { name: 'ffmpeg alone, the same command line, the frames from a file', value: aloneFps },
        unit: 'fps',
        better: 'higher',
        goal: '>= 2x real time',
        met: oursFps >= 2 * FPS,
        notes: [
          `ours: lerobot export ${written} frames in ${oursS.toFixed(2)} s (the whole command), ${(oursFps / FPS).toFixed(2)}x real time, its ffmpeg running ${encode.seconds.toFixed(2)} s of it, the export's own process using ${((used.user + used.system) / 1e6).toFixed(2)} s of CPU; ffmpeg alone ${FRAMES} frames in ${aloneS.toFixed(2)} s, ${(aloneFps / FPS).toFixed(2)}x real time; on ${availableParallelism()} cores`,
          `videos: ours ${mb(video)} MB, ffmpeg alone ${mb(alone)} MB; ffmpeg ${encode.args.map((a) => (a === target ? 'OUT.mp4' : a)).join(' ')}`,
        ],
      });
    }
    return results;
  } finally {
    work.cleanup();
  }
}
