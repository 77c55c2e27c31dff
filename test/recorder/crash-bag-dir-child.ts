/**
 * A recorder killed (SIGKILL, as a power cut or the OOM killer) between making its bag directory and writing
 * the directory's `.recording` marker, for test/recorder/crash-bag-dir.test.ts. argv[2]: the bags directory.
 * fs.writeFileSync is swapped before the recorder is loaded, and syncBuiltinESMExports carries the swap to
 * the recorder's `import { writeFileSync } from 'node:fs'`.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const [bagsDir] = process.argv.slice(2) as [string];
const writeFileSync = fs.writeFileSync;
fs.writeFileSync = ((path: fs.PathOrFileDescriptor, ...rest: unknown[]) => {
  if (String(path).endsWith('/.recording')) process.kill(process.pid, 'SIGKILL');
  return (writeFileSync as (...args: unknown[]) => void)(path, ...rest);
}) as typeof fs.writeFileSync;
syncBuiltinESMExports();

const { pino } = await import('pino');
const { Value } = await import('typebox/value');
const { Bus } = await import('../../daemon/bus/bus.ts');
const { DefinitionsRegistry } = await import('../../daemon/bus/definitions.ts');
const { RecorderConfig } = await import('../../daemon/config/sections/bags.ts');
const { Recorder } = await import('../../daemon/recorder/recorder.ts');
type RecorderSettings = import('../../daemon/recorder/recorder.ts').RecorderSettings;

const settings = { ...(Value.Default(RecorderConfig, {}) as RecorderSettings), enabled: true, min_free_bytes: 0 };
await new Recorder({
  bus: new Bus(),
  definitions: new DefinitionsRegistry(),
  log: pino({ level: 'silent' }),
  bagsDir,
  settings,
}).start();
