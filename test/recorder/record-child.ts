/**
 * A recording process for the crash tests: publishes std_msgs/String "0", "1", ... on /seq as fast as it
 * can, records them, and after each flush it asked for prints `flushed N` (every message up to N is
 * durable), and `closed FILE` for each finished split. The parent kills it with SIGKILL at a random moment.
 */
import { pino } from 'pino';
import { Value } from 'typebox/value';
import { Bus } from '../../daemon/bus/bus.ts';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { RecorderConfig } from '../../daemon/config/sections/bags.ts';
import { Recorder, type RecorderSettings } from '../../daemon/recorder/recorder.ts';

const [bagsDir, compression = 'none'] = process.argv.slice(2);
const registry = new DefinitionsRegistry();
const codec = new MessageCodec(registry);
const bus = new Bus();
const settings = {
  ...(Value.Default(RecorderConfig, {}) as RecorderSettings),
  enabled: true,
  compression: compression as RecorderSettings['compression'],
  chunk_size_bytes: 4096,
  split_max_bytes: 48 * 1024,
  flush_interval_ms: 1000,
  min_free_bytes: 0,
};
// `closed FILE` once a split is finished and listed in metadata.yaml: the parent can kill after one has.
const recorder = new Recorder({
  bus,
  definitions: registry,
  log: pino({ level: 'silent' }),
  bagsDir: bagsDir!,
  settings,
  onSplitClosed: (file) => void process.stdout.write(`closed ${file}\n`),
});
const pub = bus.advertise('/seq', 'std_msgs/msg/String', { source: 'test' });
await recorder.start();
process.stdout.write('recording\n');
let n = 0;
for (;;) {
  for (let i = 0; i < 50; i++) pub.publish(codec.encode('std_msgs/msg/String', { data: String(n++) }));
  await new Promise((r) => setImmediate(r)); // delivered to the recorder
  const upTo = n - 1;
  await recorder.flush();
  process.stdout.write(`flushed ${upTo}\n`);
}
