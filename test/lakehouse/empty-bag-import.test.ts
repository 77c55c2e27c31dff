import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { FIXTURES, runMain, tempDir } from '../helpers/cli.ts';
import { recordSmallBag } from '../helpers/recorded-bag.ts';

/** rosbag2's own empty bag (sqlite3): `ros2 bag info` and `ros2 bag play` take it without an error. */
const ROSBAG2_EMPTY = join(FIXTURES, 'bags', 'rosbag2', 'ros2bag', 'test', 'resources', 'empty_bag');

const work = tempDir('empty-bag-import-');
afterAll(() => work.cleanup());

const EMPTY_LINE = (bag: string, data: string) =>
  `${bag}: imported 0 messages: the bag is empty (its storage files hold no message); nothing was added to ${data}/lakehouse`;

async function query(sql: string, config: string): Promise<unknown[][]> {
  const r = await runMain(['query', sql, '--config', config, '--json'], { cwd: work.path });
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { rows: unknown[][] }).rows;
}

describe('bag import of an empty bag (one split, no message: what rosbag2 and the recorder leave when nothing was published)', () => {
  it('imports 0 messages, adds nothing and exits 0, also between bags with messages and when imported again; the lakehouse answers as before', async () => {
    const registry = new DefinitionsRegistry();
    const recorded = (await recordSmallBag(join(work.path, 'rec-empty'), registry, 0)).bag;
    const full = (await recordSmallBag(join(work.path, 'rec-full'), registry, 5)).bag;
    const config = join(work.path, 'edge.yaml');
    writeFileSync(config, 'data_dir: ./data\n');
    const data = join(work.path, 'data');

    const first = await runMain(['bag', 'import', ROSBAG2_EMPTY, full, recorded, '--config', config], {
      cwd: work.path,
    });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout.trimEnd().split('\n')).toEqual([
      EMPTY_LINE(ROSBAG2_EMPTY, data),
      `${full}: imported 5 messages (5 decoded, 0 raw) from 1 file(s) into ${data}/lakehouse`,
      EMPTY_LINE(recorded, data),
    ]);
    const bags = 'SELECT bag, message_count::INTEGER FROM bags ORDER BY bag';
    expect(await query(bags, config)).toEqual([[basename(full), 5]]);

    // Again, as a script does over a directory of bags: the same answer, nothing added twice.
    const again = await runMain(['bag', 'import', ROSBAG2_EMPTY, full, recorded, '--config', config, '--json'], {
      cwd: work.path,
    });
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    const imported = (
      JSON.parse(again.stdout) as {
        imported: { bag: string; storage: string; messages: number; segments: { state: string }[]; empty?: boolean }[];
      }
    ).imported;
    expect(imported.map((r) => [r.bag, r.storage, r.messages, r.segments.map((s) => s.state), r.empty])).toEqual([
      [ROSBAG2_EMPTY, 'sqlite3', 0, [], true],
      [full, 'mcap', 0, ['already imported'], undefined],
      [recorded, 'mcap', 0, [], true],
    ]);
    expect(await query(bags, config)).toEqual([[basename(full), 5]]);
    expect(await query('SELECT count(*)::INTEGER FROM messages', config)).toEqual([[5]]);
  });

  it('into a data dir with nothing else: the lakehouse then answers queries, with no rows', async () => {
    const config = join(work.path, 'fresh.yaml');
    writeFileSync(config, 'data_dir: ./fresh\n');
    const r = await runMain(['bag', 'import', ROSBAG2_EMPTY, '--config', config], { cwd: work.path });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${EMPTY_LINE(ROSBAG2_EMPTY, join(work.path, 'fresh'))}\n`);
    expect(await query('SELECT count(*)::INTEGER FROM messages', config)).toEqual([[0]]);
    expect(await query('SELECT count(*)::INTEGER FROM bags', config)).toEqual([[0]]);
  });
});
