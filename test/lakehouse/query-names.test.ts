import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, runMain, tempDir } from '../helpers/cli.ts';

const work = tempDir('query-names-');
afterAll(() => work.cleanup());
const config = join(work.path, 'edge.yaml');
writeFileSync(config, `data_dir: ${join(work.path, 'data')}\n`);
const BAG = join(FIXTURES, 'bags', 'rosbags-rs', 'test_bag_mcap');
const ODOM = '/test/nav_msgs/odometry';

describe('bag import --json names its tables as query takes them', () => {
  it('lists topics (not the directories their parquet is in), and query answers on each', async () => {
    const r = await runMain(['bag', 'import', BAG, '--config', config, '--msgs', join(FIXTURES, 'msgs'), '--json']);
    expect(r.code).toBe(0);
    const tables = (JSON.parse(r.stdout) as { imported: { tables: string[] }[] }).imported[0]!.tables;
    expect(tables).toContain(ODOM);
    expect(tables.length).toBeGreaterThan(90); // messages and one per topic of the 94
    expect(tables.filter((t) => t.startsWith('topic_'))).toEqual([]);
    const q = await runMain([
      'query',
      `SELECT ${tables.map((t) => `(SELECT count(*)::INTEGER FROM "${t}")`).join(', ')}`,
      '--config',
      config,
      '--json',
    ]);
    expect(q.stderr).toBe('');
    expect(q.code).toBe(0);
    const counts = JSON.parse(q.stdout).rows[0] as number[];
    expect(counts).toHaveLength(tables.length);
    for (const [i, n] of counts.entries()) expect(n, tables[i]).toBeGreaterThan(0);
  });

  it('lerobot export reads the imported odometry, frames holding the samples query gives', async () => {
    const q = await runMain([
      'query',
      `SELECT log_time::VARCHAR, "pose.pose.position.x", "twist.twist.linear.x" FROM "${ODOM}" ORDER BY log_time`,
      '--config',
      config,
      '--json',
    ]);
    const rows = JSON.parse(q.stdout).rows as [string, number, number][];
    expect(rows).toHaveLength(2);
    const [t0, t1] = [BigInt(rows[0]![0]), BigInt(rows[1]![0])];
    const out = join(work.path, 'odometry');
    const r = await runMain([
      'lerobot',
      'export',
      out,
      '--config',
      config,
      '--fps',
      '1',
      '--feature',
      `observation.state=${ODOM}:pose.pose.position.x,twist.twist.linear.x`,
      '--window',
      `${t0},${t1}`,
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const back = JSON.parse((await runMain(['lerobot', 'inspect', out, '--json'])).stdout);
    // Frames at t0 + k s up to t1: each holds the first sample until t1, which only a frame at t1 would hold.
    const frames = Number((t1 - t0) / 1_000_000_000n) + 1;
    expect(back.frames).toBe(frames);
    expect(back.features['observation.state']).toEqual({
      dtype: 'float32',
      shape: [2],
      names: ['pose.pose.position.x', 'twist.twist.linear.x'],
    });
    expect([back.stats['observation.state'].min, back.stats['observation.state'].max]).toEqual([
      [rows[0]![1], rows[0]![2]],
      [rows[0]![1], rows[0]![2]],
    ]);
  });
});
