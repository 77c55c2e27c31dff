/**
 * A recorder that never gets a message, for test/bags/empty-bag-repair.test.ts: it starts recording into
 * BAGS_DIR (its bag holds only the `.recording` marker), prints `recording`, and waits to be killed.
 */
import { pino } from 'pino';
import { Value } from 'typebox/value';
import { Bus } from '../../daemon/bus/bus.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { RecorderConfig } from '../../daemon/config/sections/bags.ts';
import { Recorder, type RecorderSettings } from '../../daemon/recorder/recorder.ts';

const [bagsDir] = process.argv.slice(2);
const settings = { ...(Value.Default(RecorderConfig, {}) as RecorderSettings), enabled: true, min_free_bytes: 0 };
const recorder = new Recorder({
  bus: new Bus(),
  definitions: new DefinitionsRegistry(),
  log: pino({ level: 'silent' }),
  bagsDir: bagsDir!,
  settings,
});
await recorder.start();
process.stdout.write('recording\n');
setInterval(() => undefined, 60_000);
