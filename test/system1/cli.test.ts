import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, runCli, runMain, tempDir } from '../helpers/cli.ts';
import { writeLinearModel } from './models.ts';

const G1 = join(FIXTURES, 'lerobot', 'g1_inspire_v2.1');
const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('auraison-edge policy inspect', () => {
  it('prints inputs, outputs, opset and metadata_props, non-ASCII included', async () => {
    const r = await runCli(['policy', 'inspect', join(FIXTURES, 'onnx', 'mjlab_microban', 'policy.onnx'), '--json']);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.inputs).toEqual([{ name: 'obs', dtype: 'float32', shape: [1, 63] }]);
    expect(info.outputs).toEqual([{ name: 'actions', dtype: 'float32', shape: [1, 18] }]);
    expect(info.opsets).toEqual([{ domain: 'ai.onnx', version: 18 }]);
    expect(info.metadata.run_path).toBe('Téléchargements');
    expect(info.metadata.joint_names.split(',')).toHaveLength(19);
  });

  it('lists external weights and reads them only from beside the model', async () => {
    const r = await runMain(['policy', 'inspect', join(FIXTURES, 'onnx', 'onnxruntime_controller', 'policy.onnx')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/weights\s+external: policy\.onnx\.data/);
    expect(r.stdout).toMatch(/obs\s+float32\s+\[1, 13\]/);
    expect(r.stdout).toMatch(/metadata_props: none/);
  });

  it('fails a model whose external weights are cut short or lie outside its directory, naming the tensor', async () => {
    const dir = join(tmp.path, 'external', 'model');
    mkdirSync(dir, { recursive: true });
    const source = join(FIXTURES, 'onnx', 'onnxruntime_controller');
    const model = join(dir, 'policy.onnx');
    writeFileSync(model, readFileSync(join(source, 'policy.onnx')));
    const data = readFileSync(join(source, 'policy.onnx.data'));
    writeFileSync(join(dir, 'policy.onnx.data'), data.subarray(0, data.length / 2));
    const cut = await runMain(['policy', 'inspect', model]);
    expect(cut.code).toBe(1);
    expect(cut.stderr).toMatch(
      /tensor ".+" needs bytes \d+ to \d+ of policy\.onnx\.data, which has 343296 bytes \(cut short/,
    );

    // The same weights, whole, one directory up: the model must not reach them.
    writeFileSync(join(dir, '..', 'policy.onnx.data'), data);
    const proto = onnxProto.onnx.ModelProto.decode(readFileSync(model));
    for (const init of proto.graph!.initializer!)
      for (const e of init.externalData ?? []) if (e.key === 'location') e.value = '../policy.onnx.data';
    writeFileSync(model, onnxProto.onnx.ModelProto.encode(proto).finish());
    const outside = await runMain(['policy', 'inspect', model]);
    expect(outside.code).toBe(1);
    expect(outside.stderr).toMatch(/keeps its weights at \.\.\/policy\.onnx\.data, outside the model's directory/);
  });

  it('fails with the reason on a file that is not ONNX, and exits 2 on bad usage', async () => {
    const bad = await runMain(['policy', 'inspect', join(G1, 'meta', 'info.json')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/is not an ONNX model|without a graph/);
    expect((await runMain(['policy', 'inspect'])).code).toBe(2);
  });
});

describe('auraison-edge lerobot inspect (v2.1)', () => {
  it('reads info, features with nested names flattened, episodes, frames, tasks and aggregated stats', async () => {
    const r = await runMain(['lerobot', 'inspect', G1, '--json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.version).toBe('v2.1');
    expect(s.fps).toBe(30);
    expect(s.frames).toBe(35965);
    expect(s.episodes).toHaveLength(100);
    expect(s.episodes.reduce((a: number, e: { length: number }) => a + e.length, 0)).toBe(35965);
    expect(s.tasks).toEqual([{ task_index: 0, task: 'Pick up the yellow bottle on the table.' }]);
    expect(s.features['observation.state'].names).toHaveLength(26);
    expect(s.features['observation.state'].names[0]).toBe('kLeftShoulderPitch');
    expect(s.stats['observation.state'].count).toEqual([35965]);
    expect(s.stats['action'].mean).toHaveLength(26);
    // The fixture keeps 2 of its 100 episode videos (test/fixtures/README.md): the rest are said absent.
    expect(s.warnings).toEqual([
      'info.json declares 100 videos (video_path, per episode and video feature); 98 are absent, first videos/chunk-000/observation.images.cam_high/episode_000000.mp4',
    ]);
  });

  it('says what is wrong with a directory that is not a dataset', async () => {
    const r = await runMain(['lerobot', 'inspect', tmp.path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not a LeRobot dataset: no meta\/info\.json/);
  });
});

describe('auraison-edge policy replay', () => {
  it('reports the action error against recorded actions, matching an independent computation', async () => {
    // The identity policy: action = observation.state; its MAE is mean |action - state| over the frames.
    const eye = Array.from({ length: 26 * 26 }, (_, i) => (i % 27 === 0 ? 1 : 0));
    const model = writeLinearModel(tmp.path, 'identity26', eye, new Array(26).fill(0));
    const r = await runMain(['policy', 'replay', model, G1, '--episodes', '0,3', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.frames).toBe(479 + 459);
    expect(report.episodes).toBe(2);
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    const files = `'${G1}/data/chunk-000/episode_00000[03].parquet'`;
    const rows = await conn.runAndReadAll(
      `SELECT avg(abs(a - s)) AS mae FROM (SELECT unnest(action) AS a, unnest("observation.state") AS s FROM read_parquet(${files}))`,
    );
    const expected = Number(rows.getRowObjectsJS()[0]!.mae);
    expect(report.mae).toBeCloseTo(expected, 5);
    expect(report.zeroBaseline.mae).toBeGreaterThan(report.mae);
    conn.closeSync();
    instance.closeSync();
  });
});

describe('auraison-edge lerobot export', () => {
  const db = join(tmp.path, 'catalog.duckdb');
  const t0 = 1_700_000_000_000_000_000n;
  beforeAll(async () => {
    // --db with a DuckDB file of one's own (not a daemon's catalog), read as it is: one relation per topic,
    // decoded fields as columns, log_time in ns. (What the daemon records is exported in
    // lerobot-export-recorded.test.ts.)
    const instance = await DuckDBInstance.create(db);
    const conn = await instance.connect();
    await conn.run(`CREATE TABLE "/joint_states" (log_time BIGINT, "position" DOUBLE[])`);
    await conn.run(`CREATE TABLE "/cmd_vel" (log_time BIGINT, "linear.x" DOUBLE, "angular.z" DOUBLE)`);
    // joint states at 100 Hz for 2 s; commands at 10 Hz, starting 0.25 s in.
    const js = Array.from({ length: 200 }, (_, i) => `(${t0 + BigInt(i) * 10_000_000n}, [${i}, ${-i}])`);
    await conn.run(`INSERT INTO "/joint_states" VALUES ${js.join(', ')}`);
    const cmd = Array.from(
      { length: 18 },
      (_, i) => `(${t0 + 250_000_000n + BigInt(i) * 100_000_000n}, ${i / 10}, ${-i / 10})`,
    );
    await conn.run(`INSERT INTO "/cmd_vel" VALUES ${cmd.join(', ')}`);
    // 2000 s of joint states at 100 Hz, for the long-episode export.
    await conn.run(`CREATE TABLE "/long" (log_time BIGINT, "position" DOUBLE[])`);
    await conn.run(`INSERT INTO "/long" SELECT ${t0} + i * 10000000, [i, -i] FROM range(200001) t(i)`);
    // Efforts at 10 Hz for 2 s with a NULL sample at 0.5 s.
    await conn.run(`CREATE TABLE "/effort" (log_time BIGINT, "effort" DOUBLE)`);
    await conn.run(
      `INSERT INTO "/effort" SELECT ${t0} + i * 100000000, CASE WHEN i = 5 THEN NULL ELSE i END FROM range(20) t(i)`,
    );
    conn.closeSync();
    instance.closeSync();
  });

  it('writes a v3.0 dataset resampled by sample-and-hold that lerobot inspect reads back', async () => {
    const out = join(tmp.path, 'exported');
    const r = await runMain([
      'lerobot',
      'export',
      out,
      '--db',
      db,
      '--fps',
      '10',
      '--feature',
      'observation.state=/joint_states:position',
      '--feature',
      'action=/cmd_vel:linear.x,angular.z',
      '--episode',
      `${t0},${t0 + 990_000_000n},reach`,
      '--episode',
      `${t0 + 1_000_000_000n},${t0 + 1_990_000_000n},return`,
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    // Episode 0: frames at 0.0..0.9 s; the first command is at 0.25 s, so frames 0.0, 0.1, 0.2 are dropped.
    expect(report.leadingFramesDropped).toBe(3);
    expect(report.frames).toBe(7 + 10);

    const back = await runMain(['lerobot', 'inspect', out, '--json']);
    expect(back.code).toBe(0);
    const s = JSON.parse(back.stdout);
    expect(s.version).toBe('v3.0');
    expect(s.frames).toBe(17);
    expect(s.episodes).toEqual([
      { episode_index: 0, length: 7, tasks: ['reach'] },
      { episode_index: 1, length: 10, tasks: ['return'] },
    ]);
    expect(s.tasks).toEqual([
      { task_index: 0, task: 'reach' },
      { task_index: 1, task: 'return' },
    ]);
    expect(s.features.action).toEqual({ dtype: 'float32', shape: [2], names: ['linear.x', 'angular.z'] });
    expect(s.warnings).toEqual([]);

    // Sample-and-hold: frame 0 of episode 0 is t = 0.3 s: joint state 30, command 0 (sent at 0.25 s).
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    const rows = (
      await conn.runAndReadAll(`SELECT * FROM read_parquet('${out}/data/chunk-000/file-000.parquet') ORDER BY index`)
    ).getRowObjectsJS();
    expect(rows[0]).toMatchObject({
      'observation.state': [30, -30],
      action: [0, 0],
      episode_index: 0n,
      frame_index: 0n,
      index: 0n,
      task_index: 0n,
    });
    expect(rows[1]).toMatchObject({ 'observation.state': [40, -40], frame_index: 1n });
    expect((rows[1]!.action as number[])[0]).toBeCloseTo(0.1, 6);
    expect(rows[7]).toMatchObject({
      'observation.state': [100, -100],
      episode_index: 1n,
      frame_index: 0n,
      index: 7n,
      task_index: 1n,
    });
    const meta = (
      await conn.runAndReadAll(`SELECT * FROM read_parquet('${out}/meta/episodes/chunk-000/file-000.parquet')`)
    ).getRowObjectsJS();
    expect(meta.map((m) => [m.dataset_from_index, m.dataset_to_index])).toEqual([
      [0n, 7n],
      [7n, 17n],
    ]);
    conn.closeSync();
    instance.closeSync();
  });

  it('exports a long window (200,001 frames, past what a spread into push can take) and reads it back', async () => {
    const out = join(tmp.path, 'long');
    const r = await runMain([
      'lerobot',
      'export',
      out,
      '--db',
      db,
      '--fps',
      '100',
      '--feature',
      'observation.state=/long:position',
      '--window',
      `${t0},${t0 + 2_000_000_000_000n}`,
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).frames).toBe(200_001);
    expect(existsSync(join(out, 'meta', 'info.json'))).toBe(true);
    expect(readdirSync(tmp.path).filter((f) => f.includes('partial'))).toEqual([]);
  }, 120_000);

  it('refuses a window that resamples past --max-frames before reading anything, and leaves no output', async () => {
    const out = join(tmp.path, 'year');
    const year = 365n * 24n * 3600n * 1_000_000_000n;
    const r = await runMain([
      'lerobot',
      'export',
      out,
      '--db',
      db,
      '--feature',
      'observation.state=/joint_states:position',
      '--window',
      `${t0},${t0 + year}`,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'the window resamples to 946080001 frames at 30 fps, more than 1000000 (--max-frames; 9.3 h at 30 fps)',
    );
    expect(existsSync(out)).toBe(false);
    const small = await runMain([
      'lerobot',
      'export',
      out,
      '--db',
      db,
      '--max-frames',
      '5',
      '--feature',
      'observation.state=/joint_states:position',
      '--window',
      `${t0},${t0 + 1_000_000_000n}`,
    ]);
    expect(small.code).toBe(1);
    expect(small.stderr).toContain('resamples to 31 frames at 30 fps, more than 5 (--max-frames');
  });

  it('refuses a column that is not numeric, naming it', async () => {
    const instance = await DuckDBInstance.create(db);
    const conn = await instance.connect();
    await conn.run(`CREATE TABLE "/camera" (log_time BIGINT, "data" BLOB)`);
    conn.closeSync();
    instance.closeSync();
    const r = await runMain([
      'lerobot',
      'export',
      join(tmp.path, 'img'),
      '--db',
      db,
      '--feature',
      'observation.images.cam=/camera:data',
      '--window',
      `${t0},${t0 + 1_000_000_000n}`,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/column "data" of \/camera is BLOB; only numbers and lists of numbers become features/);
  });
  it('refuses a feature key given twice (exit 2) instead of doubling its frames', async () => {
    const out = join(tmp.path, 'twice');
    const r = await runMain([
      'lerobot',
      'export',
      out,
      '--db',
      db,
      '--feature',
      'action=/cmd_vel:linear.x',
      '--feature',
      'action=/joint_states:position',
      '--window',
      `${t0},${t0 + 1_000_000_000n}`,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--feature action is given twice');
    expect(existsSync(out)).toBe(false);
  });

  it('refuses a window that ends before it starts (exit 2), before reading anything', async () => {
    const out = join(tmp.path, 'backwards');
    const r = await runMain([
      'lerobot',
      'export',
      out,
      '--db',
      db,
      '--feature',
      'action=/cmd_vel:linear.x',
      '--window',
      `${t0 + 1_000_000_000n},${t0}`,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('END must be after START');
    expect(existsSync(out)).toBe(false);
  });

  it('skips NULL samples (holding the one before) and says so, instead of exporting them as 0', async () => {
    const out = join(tmp.path, 'nulls');
    const r = await runMain([
      'lerobot',
      'export',
      out,
      '--db',
      db,
      '--fps',
      '10',
      '--feature',
      'observation.effort=/effort:effort',
      '--window',
      `${t0},${t0 + 900_000_000n}`,
      '--json',
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      `warning: feature observation.effort: 1 of 10 rows of /effort have column "effort" NULL (the first at ${t0 + 500_000_000n} ns); they were skipped`,
    );
    expect(JSON.parse(r.stdout).warnings).toHaveLength(1);
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    const rows = (
      await conn.runAndReadAll(
        `SELECT "observation.effort" AS e FROM read_parquet('${out}/data/chunk-000/file-000.parquet') ORDER BY index`,
      )
    ).getRowObjectsJS();
    expect(rows.map((row) => row.e)).toEqual([0, 1, 2, 3, 4, 4, 6, 7, 8, 9]);
    conn.closeSync();
    instance.closeSync();
  });

  it('ends an episode at the last sample of the feature that ends first, with a warning, instead of holding it to the window end', async () => {
    // Commands end at 1.95 s, joint states at 1.99 s; the window runs from 1 s to `endNs`.
    const exportTo = (out: string, endNs: bigint) =>
      runMain([
        'lerobot',
        'export',
        join(tmp.path, out),
        '--db',
        db,
        '--fps',
        '10',
        '--feature',
        'observation.state=/joint_states:position',
        '--feature',
        'action=/cmd_vel:linear.x,angular.z',
        '--window',
        `${t0 + 1_000_000_000n},${endNs}`,
      ]);
    const r = await exportTo('past-end', t0 + 10_000_000_000n);
    expect(r.code).toBe(0);
    // Frames at 1.1 .. 1.9 s stay (9; the first command in the window is at 1.05 s); 2.0 .. 10.0 s (81) are cut.
    expect(r.stdout).toContain('1 episodes, 9 frames at 10 fps');
    expect(r.stdout).toContain('81 trailing frames cut');
    expect(r.stderr).toContain(
      `warning: episode 0: feature action has no sample after ${t0 + 1_950_000_000n} ns (0.950 s into the window, which is 9.000 s): the episode ends there; 81 frames`,
    );
    // A window to 2.0 s loses one frame (2.0 s): counted, but no warning (a camera at the frame rate does so in every
    // episode).
    const one = await exportTo('one-past-end', t0 + 2_000_000_000n);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toContain('1 episodes, 9 frames at 10 fps');
    expect(one.stdout).toContain('1 trailing frames cut');
    expect(one.stderr).not.toContain('warning');
  });
});
