import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Value } from 'typebox/value';
import { locateBag, openStorageFile } from '../daemon/bags/index.ts';
import { Bus, DefinitionsRegistry, MessageCodec } from '../daemon/bus/index.ts';
import { RecorderConfig } from '../daemon/config/index.ts';
import { importBag, queryLakehouse } from '../daemon/lakehouse/index.ts';
import { Recorder, type RecorderSettings } from '../daemon/recorder/index.ts';
import { runPythonPeer } from '../test/peers/index.ts';
import type { BenchResult } from './bench.ts';

// What a user's trusted tools take to read what we write, beside our own readers, on the same files in the same
// run (information for docs/benchmarks.md, no goal): rosbags and our reader deserializing every message of one
// 100 MB recorded bag, and pyarrow and `query` scanning one lakehouse table. The peers' times are measured inside
// their Python process (its start, about 0.3 s, is not counted).
const MB = Number(process.env.BENCH_READERS_MB ?? 100);
const RUNS = 3;
const RAYS = 720;

/** Records MB of sensor_msgs/LaserScan (720 noisy rays, about 5.8 KB each) with the real recorder, zstd chunks. */
async function recordScans(dataDir: string, registry: DefinitionsRegistry): Promise<{ bag: string; messages: number }> {
  const bus = new Bus();
  const settings = {
    ...(Value.Default(RecorderConfig, {}) as RecorderSettings),
    enabled: true,
    compression: 'zstd' as const,
    min_free_bytes: 0,
  };
  const recorder = new Recorder({
    bus,
    definitions: registry,
    log: pino({ level: 'silent' }),
    bagsDir: join(dataDir, 'bags'),
    settings,
  });
  const codec = new MessageCodec(registry);
  const pub = bus.advertise('/scan', 'sensor_msgs/msg/LaserScan', { source: 'bench' });
  await recorder.start();
  const messages = Math.ceil((MB * 1e6) / (RAYS * 8 + 100));
  for (let i = 0; i < messages; i++) {
    const ranges = Float32Array.from({ length: RAYS }, () => 0.12 + Math.random() * 3.38); // noise: a real scan's bytes
    const stamp = { sec: Math.floor(i / 10), nanosec: (i % 10) * 100_000_000 };
    const scan = {
      header: { stamp, frame_id: 'base_scan' },
      angle_min: -Math.PI,
      angle_max: Math.PI,
      angle_increment: (2 * Math.PI) / RAYS,
      time_increment: 0,
      scan_time: 0.1,
      range_min: 0.12,
      range_max: 3.5,
      ranges,
      intensities: Float32Array.from({ length: RAYS }, () => Math.random() * 100),
    };
    pub.publish(codec.encode('sensor_msgs/msg/LaserScan', scan));
    if (i % 200 === 199) await recorder.flush(); // the recorder keeps up: nothing is dropped
  }
  await recorder.flush();
  await recorder.close();
  bus.close();
  return { bag: recorder.bags[0]!, messages };
}

async function ourRead(bag: string, codec: MessageCodec): Promise<{ count: number; seconds: number }> {
  const started = performance.now();
  let count = 0;
  for (const file of locateBag(bag).files) {
    const reader = await openStorageFile(file);
    for await (const batch of reader.batches()) {
      for (const m of batch) codec.decode('sensor_msgs/msg/LaserScan', m.data);
      count += batch.length;
    }
    await reader.close();
  }
  return { count, seconds: (performance.now() - started) / 1000 };
}

const best = (xs: number[]) => Math.min(...xs);

export async function run(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-readers-'));
  try {
    const registry = new DefinitionsRegistry();
    const codec = new MessageCodec(registry);
    const { bag, messages } = await recordScans(dir, registry);
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const read = await ourRead(bag, codec);
      if (read.count !== messages) throw new Error(`our reader read ${read.count} of ${messages} messages`);
      ours.push(read.seconds);
      const peer = await runPythonPeer<{ counts: Record<string, number>; seconds: number }>('rosbags_read.py', [
        bag,
        '--count',
      ]);
      if (peer.counts['/scan'] !== messages)
        throw new Error(`rosbags read ${peer.counts['/scan']} of ${messages} messages`);
      theirs.push(peer.seconds);
    }

    await importBag({ path: bag, dataDir: dir, robot: 'bench', registry });
    const table = join(dir, 'lakehouse', 'tables', 'topic_scan');
    const scanOurs: number[] = [];
    const scanTheirs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const started = performance.now();
      const q = await queryLakehouse(dir, 'SELECT count(*), sum(list_sum(ranges)) FROM "/scan"');
      scanOurs.push(performance.now() - started);
      if (Number(q.rows[0]![0]) !== messages) throw new Error(`query counted ${String(q.rows[0]![0])} rows`);
      const peer = await runPythonPeer<{ rows: number; seconds: number }>('parquet_scan.py', [table, 'ranges']);
      if (peer.rows !== messages) throw new Error(`pyarrow read ${peer.rows} rows`);
      scanTheirs.push(peer.seconds * 1000);
    }
    const rate = (s: number) => MB / s;
    const fileMb = locateBag(bag).files.reduce((n, f) => n + statSync(f).size, 0) / 1e6;
    return [
      {
        name: `read every message of a ${MB} MB recorded bag (LaserScan, zstd), decoded`,
        ours: rate(best(ours)),
        baseline: { name: 'rosbags 0.11.9 (Python)', value: rate(best(theirs)) },
        unit: 'MB/s',
        better: 'higher',
        notes: [
          `${messages} messages, ${MB} MB of CDR in ${fileMb.toFixed(1)} MB of files`,
          `best of ${RUNS}: ours ${best(ours).toFixed(2)} s, rosbags ${best(theirs).toFixed(2)} s (inside its process)`,
        ],
      },
      {
        name: `scan the lakehouse table "/scan" (${messages} rows), sum of every range`,
        ours: best(scanOurs),
        baseline: { name: 'pyarrow 26.0.1 over the parquet files', value: best(scanTheirs) },
        unit: 'ms',
        better: 'lower',
        notes: [
          'ours is `query` (queryLakehouse: opens the catalog, DuckDB over the files)',
          'pyarrow reads the Hive layout into memory, then sums',
        ],
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
