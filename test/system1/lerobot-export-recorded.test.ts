import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { parseConfigText } from '../../daemon/config/load.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { queryLakehouse } from '../../daemon/lakehouse/query.ts';
import { TurtlebotMazeSim } from '../../sim/turtlebot-maze/index.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { running } from '../helpers/daemon.ts';

const work = tempDir('lerobot-export-recorded-');
afterAll(() => work.cleanup());
const dataDir = join(work.path, 'data');
const config = join(work.path, 'edge.yaml');
const STATE = ['pose.pose.position.x', 'pose.pose.position.y', 'twist.twist.angular.z'];
const ACTION = ['linear.x', 'angular.z'];
const STRING = 'std_msgs/msg/String';
const MARKS = '/expert/episode';
const UNJUDGED = '/expert/unjudged';

/** Every row of the dataset's data file, in index order. */
async function datasetRows(out: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    return (
      await conn.runAndReadAll(`SELECT * FROM read_parquet('${out}/data/chunk-000/file-000.parquet') ORDER BY index`)
    ).getRowObjectsJS();
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

describe('lerobot export of what the daemon recorded (sim + recorder, then bag import)', () => {
  let start = 0n;
  let end = 0n;

  beforeAll(async () => {
    // The sim held at 0 until the recorder is up, the lakehouse off (the bag goes in by `bag import`, as a
    // user would index a bag recorded elsewhere): what is recorded is fixed by sim time.
    const yaml = [
      `data_dir: ${dataDir}`,
      'sim: {enabled: true, speed: 10, paused: true}',
      'recorder: {enabled: true, compression: zstd}',
      'lakehouse: {enabled: false}',
      'api: {enabled: false}',
      'foxglove: {enabled: false}',
    ].join('\n');
    writeFileSync(config, yaml);
    const daemon = new Daemon({
      config: parseConfigText(yaml, 'edge.yaml'),
      log: pino({ level: 'silent' }),
      cwd: work.path,
    });
    // A driver: each /odom answered with a /cmd_vel that changes, so both the state and the action vary.
    const codec = new MessageCodec(daemon.definitions);
    const cmd = daemon.bus.advertise('/cmd_vel', 'geometry_msgs/msg/Twist', { source: 'test' });
    // Episode marks as a scripted expert publishes them: one failed, one ended without a verdict, one succeeded; and
    // a topic whose marks judge nothing.
    const marks = daemon.bus.advertise(MARKS, STRING, { source: 'test' });
    const unjudged = daemon.bus.advertise(UNJUDGED, STRING, { source: 'test' });
    const MARKED: Record<number, [typeof marks, string]> = {
      5: [marks, 'begin 0'],
      15: [marks, 'end 0 failure'],
      18: [unjudged, 'begin 0'],
      20: [marks, 'begin 1'],
      25: [marks, 'end 1'],
      28: [unjudged, 'end 0'],
      30: [marks, 'begin 2'],
      45: [marks, 'end 2 success'],
    };
    let n = 0;
    daemon.bus.subscribe({
      name: 'test-driver',
      topic: '/odom',
      queue: { policy: 'drop-newest', depth: 1_000_000 },
      handler: () => {
        n++;
        const mark = MARKED[n];
        if (mark) mark[0].publish(codec.encode(STRING, { data: mark[1] }));
        cmd.publish(
          codec.encode('geometry_msgs/msg/Twist', {
            linear: { x: 0.1 + (n % 5) * 0.05, y: 0, z: 0 },
            angular: { x: 0, y: 0, z: ((n % 7) - 3) * 0.1 },
          }),
        );
      },
    });
    await daemon.start();
    const sim = running(daemon, TurtlebotMazeSim)!;
    sim.unpause();
    await sim.until(4); // 4 s of sim time: about 120 odometry messages
    await daemon.close();
    expect(n).toBeGreaterThan(50);
  }, 60_000);

  it('bag import reports the tables by the names query takes', async () => {
    const bags = join(dataDir, 'bags');
    const [bag] = readdirSync(bags);
    const r = await runMain(['bag', 'import', join(bags, bag!), '--config', config, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const tables = (JSON.parse(r.stdout) as { imported: { tables: string[] }[] }).imported[0]!.tables;
    expect(tables).toEqual(expect.arrayContaining(['messages', '/odom', '/cmd_vel', '/scan']));
    for (const t of tables)
      expect((await queryLakehouse(dataDir, `SELECT count(*)::INTEGER FROM "${t}"`)).rows[0]![0], t).toBeGreaterThan(0);

    const span = await queryLakehouse(
      dataDir,
      'SELECT (SELECT min(log_time) FROM "/odom"), least((SELECT max(log_time) FROM "/odom"), (SELECT max(log_time) FROM "/cmd_vel"))',
    );
    [start, end] = span.rows[0]!.map((v) => BigInt(v as string | number));
    // Log times are the wall clock's: 4 s of sim time at 10x is paced to at least 0.4 s.
    expect(end - start).toBeGreaterThan(200_000_000n);
  }, 60_000);

  it('exports /odom and /cmd_vel as LeRobot v3.0 that lerobot inspect reads, frames matching a query of the same data', async () => {
    const out = join(work.path, 'dataset');
    const args = [
      '--fps',
      '100',
      '--feature',
      `observation.state=/odom:${STATE.join(',')}`,
      '--feature',
      `action=/cmd_vel:${ACTION.join(',')}`,
      '--window',
      `${start},${end}`,
      '--json',
    ];
    const r = await runMain(['lerobot', 'export', out, '--config', config, ...args]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    // The episode ends at the later topic's last sample before the earlier one's last (sample-and-hold
    // never holds a topic past its last sample): the frames after it are cut, with a warning.
    const last = await queryLakehouse(
      dataDir,
      `SELECT least((SELECT max(log_time) FROM "/odom" WHERE log_time <= ${end}), (SELECT max(log_time) FROM "/cmd_vel" WHERE log_time <= ${end}))`,
    );
    const lastNs = BigInt(last.rows[0]![0] as string);
    const frames = Number((end - start) / 10_000_000n) + 1;
    const kept = Number((lastNs - start) / 10_000_000n) + 1;
    expect(report.trailingFramesDropped).toBe(frames - kept);
    // one frame cut is counted, not warned of
    const cut = frames - kept > 1 ? [`episode 0: feature action has no sample after ${lastNs} ns`] : [];
    expect(report.warnings.map((w: string) => w.slice(0, w.indexOf(' ns') + 3))).toEqual(cut);
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(cut.length);

    const back = await runMain(['lerobot', 'inspect', out, '--json']);
    expect(back.code).toBe(0);
    const summary = JSON.parse(back.stdout);
    expect(summary.version).toBe('v3.0');
    expect(summary.warnings).toEqual([]);
    expect(summary.features['observation.state']).toEqual({ dtype: 'float32', shape: [3], names: STATE });
    expect(summary.features.action).toEqual({ dtype: 'float32', shape: [2], names: ACTION });
    expect(summary.episodes).toEqual([{ episode_index: 0, length: report.frames, tasks: ['recorded'] }]);

    // The same frames by SQL over `query`'s views: frame k holds each topic's last sample at or before
    // start + k/100 s (an ASOF join), frames before both topics have one left out.
    const cols = (alias: string, names: string[]) => names.map((c) => `${alias}."${c}"`).join(', ');
    const expected = await queryLakehouse(
      dataDir,
      `WITH f AS (SELECT k, ${start} + k * 10000000 AS t FROM range(${kept}) r(k))
       SELECT ${cols('o', STATE)}, ${cols('c', ACTION)} FROM f
       ASOF JOIN "/odom" o ON f.t >= o.log_time ASOF JOIN "/cmd_vel" c ON f.t >= c.log_time ORDER BY f.k`,
    );
    const rows = await datasetRows(out);
    expect(summary.frames).toBe(rows.length);
    expect(rows.length).toBe(expected.rows.length);
    expect(rows.length).toBe(kept - report.leadingFramesDropped);
    expect(rows.length).toBeGreaterThan(10);
    const f32 = (v: unknown) => Math.fround(Number(v));
    expect(rows.map((row) => [...(row['observation.state'] as number[]), ...(row.action as number[])])).toEqual(
      expected.rows.map((e) => e.map(f32)),
    );
    // The robot moved and the commands changed: a dataset of one repeated frame would pass the rest.
    expect(new Set(rows.map((row) => (row['observation.state'] as number[])[0])).size).toBeGreaterThan(5);
    expect(new Set(rows.map((row) => (row.action as number[]).join())).size).toBeGreaterThan(3);

    // --db with the catalog's path reads the same views.
    const viaDb = join(work.path, 'dataset-db');
    const d = await runMain([
      'lerobot',
      'export',
      viaDb,
      '--db',
      join(dataDir, 'lakehouse', 'catalog.duckdb'),
      ...args,
    ]);
    expect(d.code).toBe(0);
    expect(await datasetRows(viaDb)).toEqual(rows);
  }, 60_000);

  it('cuts episodes by recorded marks, keeping only those that succeeded, and refuses too few or none judged', async () => {
    const features = [
      '--feature',
      `observation.state=/odom:${STATE.join(',')}`,
      '--feature',
      `action=/cmd_vel:linear.x`,
    ];
    const exported = (name: string, ...rest: string[]) =>
      runMain(['lerobot', 'export', join(work.path, name), '--config', config, '--fps', '100', ...features, ...rest]);
    const few = await exported('few', '--episodes-from', MARKS, '--min-episodes', '2');
    expect(few.code).toBe(1);
    expect(few.stderr).toContain(
      `--episodes-from ${MARKS}: 1 successful episodes (1 failed, 1 without a verdict, all left out), fewer than --min-episodes 2: record more demonstrations`,
    );
    expect(readdirSync(work.path)).not.toContain('few');
    const none = await exported('none-judged', '--episodes-from', UNJUDGED);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(
      `--episodes-from ${UNJUDGED}: none of its 2 marks ends an episode with "success" or "failure"`,
    );
    const kept = await exported('kept', '--episodes-from', MARKS, '--json');
    expect(kept.stderr.split('\n').filter((l) => l && !l.includes('no sample after'))).toEqual([]);
    expect(kept.code).toBe(0);
    const back = await runMain(['lerobot', 'inspect', join(work.path, 'kept'), '--json']);
    expect(JSON.parse(back.stdout).episodes).toEqual([expect.objectContaining({ episode_index: 0 })]);
  }, 60_000);

  it('names the topics the lakehouse has when a feature names one it lacks', async () => {
    const r = await runMain([
      'lerobot',
      'export',
      join(work.path, 'none'),
      '--config',
      config,
      '--feature',
      'action=/cmd_vell:linear.x',
      '--window',
      `${start},${end}`,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /feature action: the lakehouse has no table or view "\/cmd_vell" or "cmd_vell" \(its topics: .*\/cmd_vel, .*\/odom, /,
    );
  });
});
