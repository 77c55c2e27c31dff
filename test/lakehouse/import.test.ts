import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { locateBag } from '../../daemon/bags/open-bag.ts';
import { importBag } from '../../daemon/lakehouse/importer.ts';
import { queryLakehouse } from '../../daemon/lakehouse/query.ts';
import { FIXTURES, runMain, tempDir } from '../helpers/cli.ts';
import { fixtureBagDirs } from '../helpers/fixture-bags.ts';

const BAGS = join(FIXTURES, 'bags');
const registry = new DefinitionsRegistry({ dirs: [join(FIXTURES, 'msgs')] });
const data = tempDir('lakehouse-import-');
afterAll(() => data.cleanup());

const WRONG_FORMAT = /wrong_rmw_test/;

describe('bag import of every fixture bag', () => {
  const dirs = fixtureBagDirs();
  it('finds the fixture bags', () => {
    expect(dirs.length).toBe(23);
  });

  for (const dir of dirs.filter((d) => !WRONG_FORMAT.test(d))) {
    it(`imports ${relative(BAGS, dir)} with the counts of its metadata.yaml, every message decoded`, async () => {
      const meta = locateBag(dir).metadata!;
      if (meta.messageCount === 0) {
        // rosbag2's empty bag: imported, with nothing to add (no segment, so no row in bags).
        expect(await importBag({ path: dir, dataDir: data.path, robot: 'r1', registry })).toMatchObject({
          messages: 0,
          segments: [],
          warnings: [],
        });
        return;
      }
      const report = await importBag({ path: dir, dataDir: data.path, robot: 'r1', registry });
      expect(report.warnings).toEqual([]);
      // rosbag2_transport's rewriter bags are the same files as rosbag2_py's convert bags: imported once.
      if (report.segments.every((s) => s.state === 'imported')) {
        expect(report.messages).toBe(meta.messageCount);
        expect(report.decoded).toBe(meta.messageCount);
      }
      expect(report.raw).toBe(0);
      const files = report.segments.map((s) => s.segmentId);
      const counts = await queryLakehouse(
        data.path,
        `SELECT topic, count(*)::INTEGER AS n FROM messages WHERE segment_id IN (${files.map((f) => `'${f}'`).join(',')}) GROUP BY topic`,
      );
      const got = Object.fromEntries(counts.rows.map((r) => [r[0], r[1]]));
      for (const t of meta.topics) expect(got[t.name] ?? 0, t.name).toBe(t.messageCount);
    });
  }

  it('decodes the test_msgs BasicTypes and Arrays values of the cdr_test bags (mcap and sqlite3)', async () => {
    const basic = await queryLakehouse(
      data.path,
      'SELECT DISTINCT int32_value, bool_value, count(*) OVER ()::INTEGER FROM "/test_topic" WHERE segment_id IN (SELECT segment_id FROM bags WHERE bag = \'cdr_test\')',
    );
    expect(basic.rows).toEqual([[123, false, 6]]); // 3 messages in each of the two bags
    expect(basic.columns.map((c) => c.name)).toContain('int32_value');
    const arrays = await queryLakehouse(
      data.path,
      "SELECT bool_values, string_values, alignment_check, json_extract(defaults_values, '$[0].int16_value')::INTEGER FROM \"/array_topic\" JOIN bags USING (segment_id) WHERE bags.bag = 'cdr_test' ORDER BY log_time LIMIT 1",
    );
    expect(arrays.rows[0]!.slice(0, 2)).toEqual([
      [true, false, true],
      ['Complex Hello1', 'Complex Hello2', 'Complex Hello3'],
    ]);
    expect(arrays.rows[0]![3]).toBe(-1000);
    const both = await queryLakehouse(
      data.path,
      "SELECT storage, count(*)::INTEGER FROM bags WHERE bag = 'cdr_test' GROUP BY storage ORDER BY storage",
    );
    expect(both.rows).toEqual([
      ['mcap', 1],
      ['sqlite3', 1],
    ]);
  });

  it('answers SQL on a topic by name, with typed columns from the message fields', async () => {
    const r = await queryLakehouse(
      data.path,
      'SELECT avg("twist.twist.linear.x"), count(*)::INTEGER FROM "/test/nav_msgs/odometry" JOIN bags USING (segment_id) WHERE bags.storage = \'mcap\'',
    );
    expect(r.columns[0]!.type).toBe('DOUBLE');
    expect(r.rows[0]![1]).toBe(2);
    expect(typeof r.rows[0]![0]).toBe('number');
    const images = await queryLakehouse(
      data.path,
      'SELECT "height", "width", encoding, "data" FROM "/test/sensor_msgs/image" LIMIT 1',
    );
    expect(images.columns.map((c) => c.type)).toEqual(['UINTEGER', 'UINTEGER', 'VARCHAR', 'BLOB']);
  });

  it('skips files already imported (same checksum)', async () => {
    const dir = join(BAGS, 'rosbag2/rosbag2_py/test/resources/mcap/talker');
    const again = await importBag({ path: dir, dataDir: data.path, robot: 'r1', registry });
    expect(again.segments.map((s) => s.state)).toEqual(['already imported']);
    // The segment id is the file's sha256 (hashed on a worker while the file was read the first time).
    expect(again.segments[0]!.segmentId).toBe(
      createHash('sha256')
        .update(readFileSync(join(dir, 'talker.mcap')))
        .digest('hex'),
    );
    const stray = await queryLakehouse(
      data.path,
      'SELECT count(*)::INTEGER FROM messages WHERE segment_id NOT IN (SELECT checksum FROM bags)',
    );
    expect(stray.rows).toEqual([[0]]);
    const n = await queryLakehouse(data.path, "SELECT count(*)::INTEGER FROM messages WHERE bag = 'talker'");
    expect(n.rows[0]![0]).toBe(40); // 20 from mcap, 20 from sqlite3: not doubled
  });

  it('reads split bags, a bare .mcap, and falls back to the files present when metadata names a missing one', async () => {
    const split = locateBag(join(BAGS, 'rosbag2/rosbag2_py/test/resources/mcap/wbag'));
    expect(split.files.length).toBe(5);
    const bare = await importBag({
      path: join(BAGS, 'rosbag2/rosbag2_cpp/test/rosbag2_cpp/bags/only_topics.mcap'),
      dataDir: data.path,
      robot: 'r1',
      registry,
    });
    expect(bare.messages).toBe(7);
    // reindex_test_bags/multiple_files has no metadata.yaml: read from the files present
    const noMeta = locateBag(join(BAGS, 'rosbag2/rosbag2_py/test/resources/mcap/reindex_test_bags/multiple_files'));
    expect(noMeta.files.length).toBe(3);
    expect(noMeta.warnings[0]).toMatch(/metadata.yaml: missing; reading the storage files present/);

    const work = tempDir('missing-file-');
    try {
      execFileSync('cp', ['-r', join(BAGS, 'rosbag2/rosbag2_py/test/resources/mcap/convert_a'), work.path]);
      const copy = join(work.path, 'convert_a');
      execFileSync('chmod', ['-R', 'u+w', copy]);
      execFileSync('mv', [join(copy, 'rewriter_a_0.mcap'), join(copy, 'renamed_0.mcap')]);
      const r = await runMain([
        'bag',
        'import',
        copy,
        '--msgs',
        join(FIXTURES, 'msgs'),
        '--config',
        writeConfig(work.path, data.path),
      ]);
      expect(r.stderr).toMatch(
        /metadata.yaml: names rewriter_a_0.mcap, which is not there\n.*metadata.yaml: reading the storage files present instead \(renamed_0.mcap\)/,
      );
      expect(r.code).toBe(0);

      // A path that leads out of the bag directory is not followed, though the file is there.
      execFileSync('cp', [join(copy, 'renamed_0.mcap'), join(work.path, 'outside_0.mcap')]);
      writeFileSync(
        join(copy, 'metadata.yaml'),
        readFileSync(join(copy, 'metadata.yaml'), 'utf8').replace('- rewriter_a_0.mcap', '- ../outside_0.mcap'),
      );
      const bag = locateBag(copy);
      expect(bag.files).toEqual([join(copy, 'renamed_0.mcap')]);
      expect(bag.warnings[0]).toMatch(
        /metadata.yaml: names \.\.\/outside_0.mcap, outside the bag directory: not followed/,
      );
    } finally {
      work.cleanup();
    }
  });
});

describe('bag info', () => {
  it('prints what ros2 bag info prints, for mcap and sqlite3', async () => {
    for (const storage of ['mcap', 'sqlite3']) {
      const r = await runMain(['bag', 'info', join(BAGS, `rosbag2/rosbag2_py/test/resources/${storage}/talker`)]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`Storage id: +${storage}`));
      expect(r.stdout).toMatch(/Duration: +4\.531096768s/);
      expect(r.stdout).toMatch(/Start: +Apr {2}2 2020 22:23:55\.112411371 \(1585866235\.112411371\)/);
      expect(r.stdout).toMatch(/Messages: +20/);
      expect(r.stdout).toContain('Topic: /topic | Type: std_msgs/msg/String | Count: 10 | Serialization Format: cdr');
    }
    const json = await runMain(['bag', 'info', join(BAGS, 'rosbag2/rosbag2_py/test/resources/mcap/wbag'), '--json']);
    const info = JSON.parse(json.stdout);
    expect(info.files.length).toBe(5);
    expect(info.messageCount).toBe(6074);
  });
});

function writeConfig(dir: string, dataDir: string): string {
  const path = join(dir, 'edge.yaml');
  execFileSync('sh', ['-c', `printf 'data_dir: ${dataDir}\\nrobot:\\n  id: r1\\n' > ${path}`]);
  return path;
}
