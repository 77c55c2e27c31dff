/**
 * Child process of recorder.bench.ts: records 50 MB/s of 1 MB messages through the bus for N seconds and
 * prints RSS once a second (as JSON on its last line). Run alone so nothing else's memory counts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { Value } from 'typebox/value';
import { Bus } from '../daemon/bus/index.ts';
import { DefinitionsRegistry } from '../daemon/bus/index.ts';
import { RecorderConfig } from '../daemon/config/index.ts';
import { Recorder, type RecorderSettings } from '../daemon/recorder/index.ts';
import { sleep } from '../daemon/util/index.ts';

const registry = new DefinitionsRegistry();
function scratch(name: string): string {
  return mkdtempSync(join(process.argv[3]!, `${name}-`));
}

/** RSS while a Recorder, on the bus, records `mbPerSecond` MB/s of 1 MB messages for `seconds`. */
async function rssWhileRecording(
  seconds: number,
  mbPerSecond: number,
): Promise<{ samples: number[]; idle: number; dropped: number; written: number }> {
  const dir = scratch('rss');
  const bus = new Bus();
  const settings = {
    ...(Value.Default(RecorderConfig, {}) as RecorderSettings),
    enabled: true,
    compression: 'none' as const,
    min_free_bytes: 0,
    split_max_bytes: 512 * 1024 * 1024,
  };
  const recorder = new Recorder({ bus, definitions: registry, log: pino({ level: 'silent' }), bagsDir: dir, settings });
  const pub = bus.advertise('/camera/raw', 'sensor_msgs/msg/CompressedImage', { source: 'bench' });
  global.gc?.();
  const idle = process.memoryUsage().rss;
  await recorder.start();
  const samples: number[] = [];
  const perTick = mbPerSecond / 10;
  const end = Date.now() + seconds * 1000;
  let next = Date.now();
  let tick = 0;
  while (Date.now() < end) {
    for (let i = 0; i < perTick; i++) {
      const data = new Uint8Array(1_000_000);
      data[0] = 0;
      data[1] = 1; // CDR little-endian header
      pub.publish(data);
    }
    if (++tick % 10 === 0) samples.push(process.memoryUsage().rss);
    next += 100;
    await sleep(Math.max(0, next - Date.now()));
  }
  await recorder.close();
  bus.close();
  const written = Object.values(recorder.written()).reduce((a, b) => a + b, 0);
  const dropped = Object.values(recorder.drops()).reduce((a, b) => a + b, 0);
  rmSync(dir, { recursive: true, force: true });
  return { samples, idle, dropped, written };
}

const result = await rssWhileRecording(Number(process.argv[2] ?? 60), 50);
process.stdout.write(`${JSON.stringify(result)}\n`);
