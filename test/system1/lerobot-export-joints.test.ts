// lerobot export --joints: an arm's JointState read by joint name, whatever order each message lists its joints in (a
// ros2_control joint_state_broadcaster's order is its own, not the dataset's), and info.json naming the values.
import { DuckDBInstance } from '@duckdb/node-api';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMain, tempDir } from '../helpers/cli.ts';

const tmp = tempDir('lerobot-export-joints-');
afterAll(() => tmp.cleanup());
const db = join(tmp.path, 'arm.duckdb');
const t0 = 1_700_000_000_000_000_000n;
const ms = (n: number) => t0 + BigInt(n) * 1_000_000n;

/** Rows of the exported data file, by frame. */
async function dataRows(out: string): Promise<{ state: number[]; action: number[] }[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  const reader = await conn.runAndReadAll(
    `SELECT "observation.state" AS state, "action" FROM read_parquet('${join(out, 'data', 'chunk-000', 'file-000.parquet')}') ORDER BY "index"`,
  );
  const rows = reader.getRowObjectsJson() as unknown as { state: number[]; action: number[] }[];
  conn.closeSync();
  instance.closeSync();
  return rows.map((r) => ({ state: r.state.map(Number), action: r.action.map(Number) }));
}

describe('auraison-edge lerobot export --joints', () => {
  beforeAll(async () => {
    const instance = await DuckDBInstance.create(db);
    const conn = await instance.connect();
    await conn.run(
      `CREATE TABLE "/joint_states" (log_time BIGINT, name VARCHAR[], position DOUBLE[], velocity DOUBLE[])`,
    );
    await conn.run(`CREATE TABLE "/leader/joint_states" (log_time BIGINT, name VARCHAR[], position DOUBLE[])`);
    // 10 Hz: the joints listed in one order, then in another, then with no velocities
    await conn.run(`INSERT INTO "/joint_states" VALUES
      (${ms(0)}, ['elbow', 'shoulder', 'gripper'], [0.3, 0.1, 0.9], [3, 1, 9]),
      (${ms(100)}, ['gripper', 'shoulder', 'elbow'], [0.8, 0.2, 0.4], [8, 2, 4]),
      (${ms(200)}, ['shoulder', 'elbow', 'gripper'], [0.5, 0.6, 0.7], [5, 6, 7]),
      (${ms(300)}, ['shoulder', 'elbow', 'gripper'], [0.15, 0.25, 0.35], [])`);
    await conn.run(`INSERT INTO "/leader/joint_states" VALUES
      (${ms(0)}, ['shoulder', 'elbow', 'gripper', 'wrist'], [1, 2, 3, 4]),
      (${ms(300)}, ['wrist', 'shoulder', 'elbow'], [4, 1, 2])`);
    conn.closeSync();
    instance.closeSync();
  });

  const exportArm = (out: string, ...args: string[]) =>
    runMain([
      'lerobot',
      'export',
      join(tmp.path, out),
      '--db',
      db,
      '--fps',
      '10',
      '--window',
      `${ms(0)},${ms(390)}`,
      ...args,
    ]);

  it('reads each message by joint name in the order given, and names the values in info.json', async () => {
    const r = await exportArm(
      'by-name',
      '--feature',
      'observation.state=/joint_states:position,velocity',
      '--joints',
      'observation.state=shoulder,elbow,gripper',
      '--feature',
      'action=/leader/joint_states:position',
      '--joints',
      'action=shoulder,elbow',
    );
    expect(r.code, r.stderr).toBe(0);
    // the last state has no velocities: skipped as a NULL row, so the state's samples end at 0.2 s, and so does the
    // episode
    expect(r.stderr).toContain('NULL');
    expect(await dataRows(join(tmp.path, 'by-name'))).toEqual([
      { state: [0.1, 0.3, 0.9, 1, 3, 9].map(Math.fround), action: [1, 2] },
      { state: [0.2, 0.4, 0.8, 2, 4, 8].map(Math.fround), action: [1, 2] },
      { state: [0.5, 0.6, 0.7, 5, 6, 7].map(Math.fround), action: [1, 2] },
    ]);
    const back = await runMain(['lerobot', 'inspect', join(tmp.path, 'by-name'), '--json']);
    const { features } = JSON.parse(back.stdout) as { features: Record<string, { names: string[] | null }> };
    expect(features['observation.state']!.names).toEqual([
      'shoulder.position',
      'elbow.position',
      'gripper.position',
      'shoulder.velocity',
      'elbow.velocity',
      'gripper.velocity',
    ]);
    expect(features.action!.names).toEqual(['shoulder', 'elbow']);
  });

  it('fails naming the joint a message lacks, the topic and the time, and writes nothing', async () => {
    const r = await exportArm(
      'lacking',
      '--feature',
      'action=/leader/joint_states:position',
      '--joints',
      'action=shoulder,gripper',
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('has no joint "gripper" (its joints: wrist, shoulder, elbow)');
    expect(r.stderr).toContain('/leader/joint_states');
  });

  it('refuses --joints for a feature not given with columns, and for a topic with no name list', async () => {
    const unknown = await exportArm('x', '--feature', 'action=/leader/joint_states:position', '--joints', 'state=a');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('state is not a --feature with columns');
    const noNames = await exportArm('y', '--feature', 'action=/joint_states:log_time', '--joints', 'action=a');
    expect(noNames.code).toBe(1);
    expect(noNames.stderr).toContain('"log_time" of /joint_states is one value a row');
  });
});
