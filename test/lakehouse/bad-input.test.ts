import { existsSync, mkdirSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { importBag } from '../../daemon/lakehouse/importer.ts';
import { loadCompressor } from '../../daemon/recorder/chunk-compression.ts';
import { McapSegmentWriter } from '../../daemon/recorder/mcap-segment-writer.ts';
import { fsSegmentIO } from '../../daemon/recorder/segment-io.ts';
import { FIXTURES, runMain, tempDir } from '../helpers/cli.ts';
import { copyBag } from '../helpers/bag-copy.ts';

const BAGS = join(FIXTURES, 'bags');
const work = tempDir('bad-input-');
const dataDir = join(work.path, 'data');
const config = join(work.path, 'edge.yaml');
writeFileSync(config, `data_dir: ${dataDir}\nbus:\n  definitions:\n    dirs: [${join(FIXTURES, 'msgs')}]\n`);
afterAll(() => work.cleanup());

/** Nothing half-written: no parquet file and no staging left in the lakehouse. */
function lakehouseFiles(): string[] {
  const root = join(dataDir, 'lakehouse');
  if (!existsSync(root)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (!e.name.startsWith('catalog.duckdb')) out.push(join(d, e.name));
    }
  };
  walk(root);
  return out;
}

const registry = new DefinitionsRegistry({ dirs: [join(FIXTURES, 'msgs')] });

/** The same check without a child process (the CLI path is covered by the cases that use importFails). */
async function importRejects(path: string, pattern: RegExp): Promise<void> {
  await expect(importBag({ path, dataDir, robot: 'r1', registry })).rejects.toThrow(pattern);
  expect(lakehouseFiles()).toEqual([]);
}

async function importFails(path: string, pattern: RegExp): Promise<void> {
  const r = await runMain(['bag', 'import', path, '--config', config]);
  expect(r.stderr).toMatch(pattern);
  expect(r.code).toBe(1);
  expect(lakehouseFiles()).toEqual([]);
}

describe('bad input: a clear error naming the file, exit 1, nothing half-written', () => {
  it('a truncated MCAP', async () => {
    const dir = copyBag(join(BAGS, 'rosbag2/rosbag2_py/test/resources/mcap/talker'), work.path, 'truncated');
    const file = join(dir, 'talker.mcap');
    truncateSync(file, Math.floor(readFileSync(file).byteLength * 0.6));
    await importFails(dir, /talker\.mcap: (truncated MCAP|corrupt MCAP)/);
    const info = await runMain(['bag', 'info', file]);
    expect(info.code).toBe(1);
    expect(info.stderr).toMatch(/talker\.mcap: (truncated|corrupt) MCAP/);
  });

  it("bag info: a damaged MCAP start or end is reported, not hidden behind metadata.yaml's figures", async () => {
    const cases: [string, (b: Buffer) => Buffer, RegExp][] = [
      ['magic', (b) => ((b[1]! ^= 0x01), b), /MCAP header unreadable \(no MCAP magic at its start\)/],
      [
        'header',
        (b) => ((b[9]! ^= 0x80), b),
        /MCAP header unreadable \(the Header record has 128 bytes left over after its fields\)/,
      ],
      ['cut', (b) => b.subarray(0, b.length >> 1), /truncated MCAP: it ends without its closing magic/],
      ['empty', () => Buffer.alloc(0), /the file is empty \(0 bytes\)/],
    ];
    for (const [name, change, problem] of cases) {
      const dir = copyBag(join(BAGS, 'rosbags-rs/test_bag_mcap'), work.path, `info-${name}`);
      const file = join(dir, 'test_bag_mcap.mcap');
      writeFileSync(file, change(readFileSync(file)));
      const r = await runMain(['bag', 'info', dir]);
      expect(r.code, name).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(
        new RegExp(
          `^auraison-edge bag: ${file}: ${problem.source}.*; \`auraison-edge bag repair ${dir}\` recovers what still checks\n$`,
        ),
      );
    }
  });

  it('a corrupt MCAP (bytes overwritten in a chunk)', async () => {
    const dir = copyBag(join(BAGS, 'rosbag2/rosbag2_tests/resources/mcap/cdr_test'), work.path, 'corrupt');
    const file = join(dir, 'cdr_test_0.mcap');
    const bytes = readFileSync(file);
    for (let i = 200; i < 600; i++) bytes[i] = 0xff;
    writeFileSync(file, bytes);
    await importRejects(
      dir,
      /cdr_test_0\.mcap: (corrupt MCAP (near byte \d+|in the chunk at bytes \d+ to \d+)|truncated MCAP)/,
    );
  });

  it('a damaged record inside a chunk is reported at that record, not at the chunk', async () => {
    const file = join(work.path, 'record-length.mcap');
    const bytes = readFileSync(join(BAGS, 'rosbags-rs/test_bag_mcap/test_bag_mcap.mcap'));
    // Its one chunk starts at byte 44, uncompressed and without a CRC; its records from byte 44 + 9 + 40.
    let record = 93;
    for (let i = 0; i < 5; i++) record += 9 + Number(bytes.readBigUInt64LE(record + 1));
    bytes[record + 4] = 0x7f; // the sixth record's length: now past the chunk's end
    writeFileSync(file, bytes);
    const r = await runMain(['bag', 'info', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `auraison-edge bag: ${file}: corrupt MCAP near byte ${record} (in the chunk at bytes 44 to 71307): a record in a chunk runs past the chunk's end (\`auraison-edge bag repair\` on its bag recovers the chunks that still check)\n`,
    );
  });

  it('after an lz4 chunk that fails to decompress, good lz4 bags still import (wasm-lz4 keeps a broken context)', async () => {
    const write = async (name: string): Promise<string> => {
      const file = join(work.path, name);
      const writer = new McapSegmentWriter({
        file: await fsSegmentIO.create(file),
        compression: 'lz4',
        compressor: await loadCompressor('lz4'),
        chunkSize: 1000,
      });
      const schemaId = writer.addSchema({
        name: 'std_msgs/msg/String',
        encoding: 'ros2msg',
        data: new TextEncoder().encode('string data\n'),
      });
      const channel = writer.addChannel({ topic: '/chatter', schemaId, messageEncoding: 'cdr', metadata: new Map() });
      const codec = new MessageCodec(registry);
      for (let i = 0; i < 10; i++)
        writer.addMessage(
          channel,
          BigInt(i + 1),
          BigInt(i + 1),
          codec.encode('std_msgs/msg/String', { data: `${name} ${i} `.repeat(40) }),
        );
      await writer.end();
      return file;
    };
    const bad = await write('lz4-bad.mcap');
    const bytes = readFileSync(bad);
    const chunk = bytes.indexOf(Buffer.from([0x06]), 8);
    bytes[chunk + 9 + 40 + 'lz4'.length + 7]! ^= 0x01; // the lz4 frame descriptor of the first chunk
    writeFileSync(bad, bytes);
    await importRejects(bad, new RegExp(`lz4-bad\\.mcap: corrupt MCAP in the chunk at bytes ${chunk} to \\d+: `));
    const report = await importBag({
      path: await write('lz4-good.mcap'),
      dataDir: join(work.path, 'data-lz4'),
      robot: 'r1',
      registry,
    });
    expect(report.decoded).toBe(10);
  });

  it('a corrupt .db3', async () => {
    const dir = copyBag(join(BAGS, 'rosbag2/rosbag2_tests/resources/sqlite3/cdr_test'), work.path, 'corrupt-db3');
    writeFileSync(join(dir, 'cdr_test_0.db3'), Buffer.alloc(8192, 0x42));
    await importRejects(
      dir,
      /cdr_test_0\.db3: (cannot open as SQLite|not a readable rosbag2 sqlite3 file): file is not a database/,
    );
  });

  it('a truncated .db3: bag repair and bag info say it is damaged and what salvages it; a whole one has nothing to repair', async () => {
    const dir = copyBag(join(BAGS, 'rosbags-rs/test_bag_sqlite3'), work.path, 'truncated-db3');
    const file = join(dir, 'test_bag_sqlite3.db3');
    const whole = await runMain(['bag', 'repair', dir]);
    expect(whole.code).toBe(0);
    expect(whole.stdout).toBe(
      `${file}: intact, 188 messages\n${dir}: nothing to repair: its sqlite3 files pass SQLite's quick_check (SQLite recovers its own journal on open); bag repair rewrites only MCAP files\n`,
    );
    truncateSync(file, 73728);
    const before = readFileSync(file);
    const salvage = `sqlite3's \`.recover\` can salvage rows: \`sqlite3 ${file} .recover | sqlite3 ${file}.recovered\`, then put that in its place\n`;
    const repair = await runMain(['bag', 'repair', dir]);
    expect(repair.code).toBe(1);
    expect(repair.stderr).toBe(
      `auraison-edge bag: ${file}: file is damaged (malformed): SQLite's quick_check says "database disk image is malformed"; not modified (bag repair rewrites only MCAP files). ${salvage}`,
    );
    expect(readFileSync(file).equals(before)).toBe(true);
    const info = await runMain(['bag', 'info', dir]);
    expect(info.code).toBe(1);
    expect(info.stdout).toBe('');
    expect(info.stderr).toBe(
      `auraison-edge bag: ${file}: file is damaged (malformed): SQLite's quick_check says "database disk image is malformed"; what it holds cannot be trusted (bag repair handles only MCAP files). ${salvage}`,
    );
  });

  it('a wrong serialization format (rosbag2 wrong_rmw_test, mcap and sqlite3)', async () => {
    for (const storage of ['mcap', 'sqlite3']) {
      await (storage === 'mcap' ? importFails : importRejects)(
        join(BAGS, `rosbag2/rosbag2_tests/resources/${storage}/wrong_rmw_test`),
        /wrong_rmw_test\/metadata\.yaml: topic \/\w+ has serialization format "wrong_format"; only cdr can be imported/,
      );
    }
  });

  it('an empty bag is no bad input: imported with nothing to add', async () => {
    expect(
      await importBag({ path: join(BAGS, 'rosbag2/ros2bag/test/resources/empty_bag'), dataDir, robot: 'r1', registry }),
    ).toMatchObject({ messages: 0, segments: [] });
  });

  it('a path that is not a bag', async () => {
    const notBag = join(work.path, 'not-a-bag');
    mkdirSync(notBag);
    writeFileSync(join(notBag, 'notes.txt'), 'hello');
    await importFails(notBag, /not-a-bag: not a bag: no metadata.yaml and no .mcap or .db3 files in it/);
    await importRejects(
      join(notBag, 'notes.txt'),
      /notes\.txt: not a bag: expected a rosbag2 directory, or a \.mcap or \.db3 file/,
    );
    await importRejects(join(work.path, 'nowhere'), /nowhere: no such file or directory/);
    const fake = join(work.path, 'fake.mcap');
    writeFileSync(fake, 'not really');
    await importRejects(fake, /fake\.mcap: not an MCAP file/);
    const bad = copyBag(join(BAGS, 'rosbag2/rosbag2_py/test/resources/mcap/talker'), work.path, 'bad-yaml');
    writeFileSync(join(bad, 'metadata.yaml'), 'rosbag2_bagfile_information: [unclosed');
    await importRejects(bad, /bad-yaml\/metadata\.yaml: not valid YAML/);
    // A YAML bomb ("billion laughs"): the yaml library's own message named no file.
    const bomb = [
      'a: &a ["x", "x"]',
      ...Array.from({ length: 20 }, (_, i) => `b${i}: &b${i} [${i === 0 ? '*a, *a' : `*b${i - 1}, *b${i - 1}`}]`),
    ].join('\n');
    writeFileSync(join(bad, 'metadata.yaml'), `${bomb}\n`);
    const info = await runMain(['bag', 'info', bad]);
    expect(info.code).toBe(1);
    expect(info.stderr).toBe(
      `auraison-edge bag: ${join(bad, 'metadata.yaml')}: too many YAML aliases (more than 100 expansions; rosbag2 writes none)\n`,
    );
  });

  it('unknown types: kept as raw bytes, reported, committed; exit 3 unless --allow-unknown', async () => {
    // The sqlite3 copy: it carries no schemas, and example_interfaces is not in bus.definitions.dirs here (the
    // MCAP copy's schemas define the service, so its events decode: test/bags/service-events.test.ts).
    const bag = join(BAGS, 'rosbag2/rosbag2_cpp/test/rosbag2_cpp/bags/topics_and_services.db3');
    const r = await runMain(['bag', 'import', bag, '--config', config]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /topics_and_services\.db3: 6 message\(s\) on \/add_two_ints\/_service_event kept as raw bytes \(table raw_messages\): no definition for example_interfaces\/srv\/AddTwoInts_Event/,
    );
    expect(r.stderr).toContain('the import is committed, raw messages included (exit 3)');
    expect(r.stderr).not.toMatch(/corrupt/);
    const q = await runMain([
      'query',
      'SELECT topic, count(*) FROM raw_messages GROUP BY topic',
      '--csv',
      '--config',
      config,
    ]);
    expect(q.stdout).toBe('topic,count_star()\n/add_two_ints/_service_event,6\n');
    const again = await runMain([
      'bag',
      'import',
      join(BAGS, 'rosbag2/rosbag2_cpp/test/rosbag2_cpp/bags/only_services.mcap'),
      '--allow-unknown',
      '--config',
      config,
    ]);
    expect(again.code).toBe(0);
  });

  it('messages that do not decode as their known type: reported as corrupt, not as unknown types; committed, exit 3 even with --allow-unknown', async () => {
    const dir = copyBag(join(BAGS, 'rosbags-rs/test_bag_sqlite3'), work.path, 'corrupt-messages');
    const file = join(dir, 'test_bag_sqlite3.db3');
    const db = new Database(file);
    // A CDR header, a stamp, then a frame_id claiming 2 GiB: as bit flips in the messages would leave them.
    db.prepare('UPDATE messages SET data = ? WHERE topic_id = 23').run(
      Buffer.from([0, 1, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f]),
    );
    db.close();
    const r = await runMain(['bag', 'import', dir, '--allow-unknown', '--config', config]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      new RegExp(
        `^${file}: 2 message\\(s\\) on /test/geometry_msgs/twist_stamped do not decode as their type geometry_msgs/msg/TwistStamped: corrupt data, kept as raw bytes \\(table raw_messages\\); the first: .+$`,
        'm',
      ),
    );
    expect(r.stderr).toContain(
      '2 message(s) do not decode as their type: corrupt data, kept as raw bytes (table raw_messages)\n',
    );
    expect(r.stderr).toContain(
      'the import is committed, raw messages included (exit 3); importing the same files again skips them\n',
    );
    expect(r.stderr).not.toMatch(/without a definition|add their packages/);
    expect(r.stdout).toMatch(/imported 188 messages \(186 decoded, 2 raw\) from 1 file\(s\) into /);
    const q = await runMain([
      'query',
      "SELECT count(*) FROM raw_messages WHERE topic = '/test/geometry_msgs/twist_stamped'",
      '--csv',
      '--config',
      config,
    ]);
    expect(q.stdout).toBe('count_star()\n2\n');
    // Again: nothing new is committed, and it says what the first import kept raw.
    const again = await runMain(['bag', 'import', dir, '--config', config]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(
      /imported 0 messages \(0 decoded, 0 raw\) from 0 file\(s\), 1 already imported \(2 of their messages were kept raw then\) into /,
    );
  });

  it('query refuses anything but SELECT', async () => {
    const r = await runMain(['query', 'DELETE FROM bags', '--config', config]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/read-only/);
    const bad = await runMain(['query', 'SELECT * FROM nowhere', '--config', config]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/nowhere/);
  });
});
