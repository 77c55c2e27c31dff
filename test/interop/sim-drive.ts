import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import type { BusMessage } from '../../daemon/bus/types.ts';
import { parseConfigText } from '../../daemon/config/load.ts';
import { Daemon } from '../../daemon/daemon.ts';
import type { TurtlebotMazeSim } from '../../sim/turtlebot-maze/index.ts';

/**
 * Drives the turtlebot-maze sim for 3 s of sim time in a daemon under `dir`/`name`, with the recorder on (splits of
 * 20 KB, `compression`) and the snapshot buffer on; `during` runs at 1.5 s, with the API up when it is given. The
 * lakehouse indexes what was recorded when `lakehouse` is set. Returns the data dir, the config file and every
 * message the bus carried.
 */
export async function recordDrive(
  dir: string,
  name: string,
  options: { compression: string; lakehouse?: boolean; during?: (configFile: string) => Promise<void> },
) {
  const { compression, lakehouse = false, during } = options;
  const dataDir = join(dir, name, 'data');
  const yaml = [
    `data_dir: ${dataDir}`,
    'sim: {enabled: true, speed: 10, paused: true}',
    `recorder: {enabled: true, compression: ${compression}, split_max_bytes: 20000, snapshot: {enabled: true, max_duration_s: 60}}`,
    `lakehouse: {enabled: ${lakehouse}}`,
    `api: {enabled: ${during !== undefined}, port: 0}`,
    'foxglove: {enabled: false}',
    'log: {level: warn}',
  ].join('\n');
  const configFile = join(dir, `${name}.yaml`);
  writeFileSync(configFile, yaml);
  const daemon = new Daemon({ config: parseConfigText(yaml, configFile), log: pino({ level: 'silent' }), cwd: dir });
  const seen: BusMessage[] = [];
  // A subscriber with a queue deep enough to miss nothing: what the bus carried, to compare with.
  daemon.bus.subscribe({
    name: 'test',
    topic: '**',
    queue: { policy: 'drop-newest', depth: 1_000_000 },
    handler: (m) => void seen.push(m),
  });
  await daemon.start();
  try {
    const sim = daemon.components.get('sim') as TurtlebotMazeSim;
    sim.unpause();
    await sim.until(1.5);
    // Paused meanwhile: at speed 10 the sim would otherwise drive on for as long as `during` takes.
    sim.pause();
    await during?.(configFile);
    sim.unpause();
    await sim.until(3);
  } finally {
    await daemon.stop();
  }
  return { dataDir, configFile, seen };
}
