import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { Value } from 'typebox/value';
import { Bus } from '../../daemon/bus/bus.ts';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import type { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { parseMetadata } from '../../daemon/bags/metadata.ts';
import { RecorderConfig } from '../../daemon/config/sections/bags.ts';
import { Recorder, type RecorderSettings } from '../../daemon/recorder/recorder.ts';

/**
 * Records `messages` std_msgs/String messages of about 200 bytes into `<dataDir>/bags` with the real
 * recorder, in splits of about 20 KB (80 messages each), and stops it cleanly. Returns the bag and its
 * finished splits in the recorder's order.
 */
export async function recordSmallBag(
  dataDir: string,
  registry: DefinitionsRegistry,
  messages = 320,
): Promise<{ bag: string; files: string[] }> {
  const bus = new Bus();
  const settings = {
    ...(Value.Default(RecorderConfig, {}) as RecorderSettings),
    enabled: true,
    compression: 'none' as const,
    chunk_size_bytes: 2048,
    split_max_bytes: 20_000,
    min_free_bytes: 0,
  };
  const recorder = new Recorder({
    bus,
    definitions: registry,
    log: pino({ level: 'silent' }),
    bagsDir: join(dataDir, 'bags'),
    settings,
  });
  const pub = bus.advertise('/chatter', 'std_msgs/msg/String', { source: 'test' });
  const codec = new MessageCodec(registry);
  await recorder.start();
  for (let i = 0; i < messages; i++)
    pub.publish(codec.encode('std_msgs/msg/String', { data: `${i} `.padEnd(200, '.') }));
  await new Promise((r) => setImmediate(r));
  await recorder.close();
  bus.close();
  const bag = recorder.bags[0]!;
  const files = parseMetadata(readFileSync(join(bag, 'metadata.yaml'), 'utf8'), 'm').files.map((f) =>
    join(bag, f.path),
  );
  return { bag, files };
}
