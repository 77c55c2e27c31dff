import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { isHiddenTopic } from '../../daemon/bus/index.ts';
import type { BusMessage } from '../../daemon/bus/types.ts';
import { parseConfigText } from '../../daemon/config/load.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { TurtlebotMazeSim } from '../../sim/turtlebot-maze/index.ts';
import { runMain, type CliResult } from '../helpers/cli.ts';
import { running } from '../helpers/daemon.ts';

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
    // Hidden topics (the sim's /navigate_to_pose/_action/status) are not recorded (recorder.include_hidden).
    handler: (m) => void (isHiddenTopic(m.topic) || seen.push(m)),
  });
  await daemon.start();
  try {
    const sim = running(daemon, TurtlebotMazeSim)!;
    sim.unpause();
    await sim.until(1.5);
    // Paused meanwhile: at speed 10 the sim would otherwise drive on for as long as `during` takes.
    sim.pause();
    await during?.(configFile);
    sim.unpause();
    await sim.until(3);
  } finally {
    await daemon.close();
  }
  return { dataDir, configFile, seen };
}

/**
 * A recorded sim drive (recordDrive) imported into its lakehouse with `bag import`: the drive, and the span of its
 * /odom in log time (`start`, `end`) with its `middle`, where the exports split it into two episodes.
 */
export async function importDrive(dir: string, compression: 'none' | 'lz4' | 'zstd') {
  const drive = await recordDrive(dir, 'drive', { compression });
  const bags = readdirSync(join(drive.dataDir, 'bags')).map((b) => join(drive.dataDir, 'bags', b));
  const config = drive.configFile;
  const imported = await runMain(['bag', 'import', ...bags, '--config', config], { cwd: dir });
  if (imported.code !== 0) throw new Error(`bag import failed: ${imported.stderr}`);
  const span = await runMain(
    ['query', 'SELECT min(log_time)::VARCHAR, max(log_time)::VARCHAR FROM "/odom"', '--json', '--config', config],
    { cwd: dir },
  );
  const [start, end] = (JSON.parse(span.stdout) as { rows: string[][] }).rows[0]!.map(BigInt);
  return { drive, start: start!, end: end!, middle: (start! + end!) / 2n };
}

/**
 * A recorded sim drive imported into its lakehouse and exported with `lerobot export` to `out` as a v3.0
 * dataset of two episodes (the drive's first and second half: "explore the maze", "go home") at 30 fps, with
 * `observation.state` from /joint_states and `action` from /odom's twist. Gives the export's run.
 */
export async function exportDrive(
  dir: string,
  compression: 'none' | 'lz4' | 'zstd',
  out: string,
  extra: string[] = [],
): Promise<CliResult> {
  const { drive, start, end, middle } = await importDrive(dir, compression);
  return runMain(
    [
      'lerobot',
      'export',
      out,
      '--config',
      drive.configFile,
      '--fps',
      '30',
      '--robot-type',
      'turtlebot3_burger',
      '--feature',
      'observation.state=/joint_states:position,velocity',
      '--feature',
      'action=/odom:twist.twist.linear.x,twist.twist.angular.z',
      '--episode',
      `${start},${middle},explore the maze`,
      '--episode',
      `${middle},${end},go home`,
      ...extra,
    ],
    { cwd: dir },
  );
}
