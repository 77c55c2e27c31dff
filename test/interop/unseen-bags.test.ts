import { mkdirSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { playerOn } from '../helpers/bag-player.ts';
import { runMain, tempDir, testConfig } from '../helpers/cli.ts';
import { tick } from '../helpers/wait.ts';
import { runPythonPeer } from '../peers/index.ts';

// Bags as real robots' repositories hold them, written by rosbags' own writer: a topic named without a leading slash
// (`cmd_vel`) and an int8[] field (std_msgs/msg/Int8MultiArray).

const work = tempDir('unseen-bags-');
afterAll(() => work.cleanup());
let config: string;
/** The bag rosbags wrote with no compression; the FILE bag holds the same messages. */
let plain: string;

/** What `bag play` of `path` puts on a bus: each message's topic, type and CDR bytes, in order. */
async function played(path: string): Promise<string[]> {
  const { seen, player } = playerOn(path, { rate: 1000 });
  await player.play(new AbortController().signal);
  await tick();
  return seen.map((m) => `${m.topic} ${m.type} ${Buffer.from(m.data).toString('hex')}`);
}

async function query(sql: string): Promise<{ code: number | null; stderr: string; rows: unknown[][] }> {
  const r = await runMain(['query', sql, '--config', config, '--json']);
  return { code: r.code, stderr: r.stderr, rows: r.code === 0 ? (JSON.parse(r.stdout).rows as unknown[][]) : [] };
}

beforeAll(async () => {
  plain = join(work.path, 'unseen');
  await runPythonPeer('rosbags_write_unseen.py', [plain, 'none']);
  config = testConfig(work.path, `data_dir: ${join(work.path, 'data')}\n`);
  const imported = await runMain(['bag', 'import', plain, '--config', config]);
  expect(imported.stderr).toBe('');
  expect(imported.code).toBe(0);
}, 120_000);

describe('bags the project had not seen', () => {
  it('stores an int8[] field as signed integers, not as bytes', async () => {
    const types = await query(`SELECT column_type FROM (DESCRIBE "/flags") WHERE column_name = 'data'`);
    expect(types.rows).toEqual([['TINYINT[]']]);
    const values = await query('SELECT data FROM "/flags" ORDER BY log_time LIMIT 2');
    expect(values.stderr).toBe('');
    expect(values.rows).toEqual([[[0, 127, -128, 0]], [[0, 127, -128, -1]]]);
  });

  it('a topic without a leading slash is among "its topics", and asked as bag play names it, is the guess', async () => {
    const asPlayed = await query('SELECT * FROM "/cmd_vel"');
    expect(asPlayed.code).toBe(1);
    expect(asPlayed.stderr).toContain(
      'Did you mean "cmd_vel" (the bag names it without a leading slash, and bag play publishes it as /cmd_vel: SELECT * FROM "cmd_vel")? Its topics: /flags, cmd_vel.',
    );
    const typo = await query('SELECT * FROM "/cmd_vl"');
    expect(typo.stderr).toContain('Its topics: /flags, cmd_vel.');
    const named = await query('SELECT count(*)::INTEGER FROM "cmd_vel"');
    expect(named.rows).toEqual([[10]]);
  });
});

describe('a bag recorded with compression_mode FILE (each split compressed whole with zstd)', () => {
  it('is read by bag info and bag import, with every message, leaving no decompressed copy behind', async () => {
    const bag = join(work.path, 'whole-file-zstd');
    const written = await runPythonPeer<{ counts: Record<string, number>; files: string[] }>(
      'rosbags_write_unseen.py',
      [bag, 'file'],
    );
    expect(written.files).toEqual(['metadata.yaml', 'whole-file-zstd.mcap.zstd']);
    const copies = () => readdirSync(tmpdir()).filter((f) => f.startsWith('auraison-edge-split-')).length;
    const before = copies();

    const info = await runMain(['bag', 'info', bag]);
    expect(info.stderr).toBe('');
    expect(info.code).toBe(0);
    expect(info.stdout).toMatch(/Messages: +20\n/);
    expect(info.stdout).toContain('Topic: cmd_vel | Type: geometry_msgs/msg/Twist | Count: 10');

    const lake = join(work.path, 'file-zstd-lake');
    mkdirSync(lake);
    const own = testConfig(lake, `data_dir: ${join(lake, 'data')}\n`);
    const imported = await runMain(['bag', 'import', bag, '--config', own, '--json']);
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
    expect(JSON.parse(imported.stdout).imported[0]).toMatchObject({ messages: 20, decoded: 20, raw: 0 });
    const q = await runMain([
      'query',
      'SELECT data FROM "/flags" ORDER BY log_time LIMIT 1',
      '--config',
      own,
      '--json',
    ]);
    expect(JSON.parse(q.stdout).rows).toEqual([[[0, 127, -128, 0]]]);
    expect(copies()).toBe(before);

    const repair = await runMain(['bag', 'repair', bag]);
    expect(repair.code).toBe(1);
    expect(repair.stderr).toContain(
      `${bag}: was recorded with compression_mode FILE (each split compressed whole, <split>.mcap.zstd): bag repair rewrites only plain .mcap splits, and nothing was modified`,
    );
    expect(readdirSync(bag).sort()).toEqual(written.files);
  });

  it('is played by bag play: every message, byte for byte as in the same bag uncompressed, leaving no copy', async () => {
    const bag = join(work.path, 'played-file-zstd');
    await runPythonPeer('rosbags_write_unseen.py', [bag, 'file']);
    const copies = () => readdirSync(tmpdir()).filter((f) => f.startsWith('auraison-edge-split-')).length;
    const before = copies();

    const messages = await played(bag);
    expect(messages).toHaveLength(20);
    expect(messages).toEqual(await played(plain));

    const lake = join(work.path, 'file-zstd-play');
    mkdirSync(lake);
    const own = testConfig(lake, `data_dir: ${join(lake, 'data')}\n`);
    const cli = await runMain(['bag', 'play', bag, '--rate', '1000', '--config', own, '--json'], { cwd: lake });
    expect(cli.code, cli.stderr).toBe(0);
    const summary = JSON.parse(cli.stdout) as { messages: Record<string, number>; skipped: unknown[] };
    expect(summary).toMatchObject({ messages: { '/cmd_vel': 10, '/flags': 10 }, skipped: [] });
    expect(copies()).toBe(before);
  });
});
