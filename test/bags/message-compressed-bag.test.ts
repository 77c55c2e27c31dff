import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import zstd from '@foxglove/wasm-zstd';
import { afterEach, describe, expect, it } from 'vitest';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { playerOn } from '../helpers/bag-player.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { writeStringMcap } from '../helpers/mcap-file.ts';

// rosbag2's `compression_mode: MESSAGE` (`ros2 bag record --compression-mode message --compression-format
// zstd`) keeps each message's CDR as a zstd frame of its own, in an ordinary .mcap file. It was refused even
// by `bag info`; info, import and play read it now, each message decompressed.

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const T0 = 1_700_000_000_000_000_000n;
const TEXTS = ['hello', 'a longer message '.repeat(20), ''];

/** A bag as rosbag2 writes one with per-message zstd: its metadata.yaml says so, its split is plain MCAP. */
async function messageCompressedBag(): Promise<string> {
  await zstd.isLoaded;
  const dir = tempDir('msg-zstd-');
  cleanups.push(dir.cleanup);
  const bag = join(dir.path, 'talker');
  mkdirSync(bag);
  await writeStringMcap(
    join(bag, 'talker_0.mcap'),
    TEXTS.map((t, i) => ['/chatter', T0 + BigInt(i) * 1_000_000n, t]),
    (cdr) => zstd.compress(cdr, 3),
  );
  const end = T0 + 2_000_000n;
  writeFileSync(
    join(bag, 'metadata.yaml'),
    `rosbag2_bagfile_information:
  version: 9
  storage_identifier: mcap
  duration:
    nanoseconds: ${end - T0}
  starting_time:
    nanoseconds_since_epoch: ${T0}
  message_count: 3
  topics_with_message_count:
    - topic_metadata:
        name: /chatter
        type: std_msgs/msg/String
        serialization_format: cdr
        offered_qos_profiles: ""
        type_description_hash: ""
      message_count: 3
  compression_format: zstd
  compression_mode: MESSAGE
  relative_file_paths:
    - talker_0.mcap
  files:
    - path: talker_0.mcap
      starting_time:
        nanoseconds_since_epoch: ${T0}
      duration:
        nanoseconds: ${end - T0}
      message_count: 3
  custom_data: ~
  ros_distro: jazzy
`,
  );
  return bag;
}

describe('a bag recorded with compression_mode MESSAGE (zstd)', () => {
  it('bag info reads it', async () => {
    const bag = await messageCompressedBag();
    const info = await runMain(['bag', 'info', bag, '--json']);
    expect(info.code, info.stderr).toBe(0);
    expect(JSON.parse(info.stdout)).toMatchObject({
      messageCount: 3,
      topics: [expect.objectContaining({ name: '/chatter', count: 3 })],
    });
  });

  // compression_mode FILE is read: test/interop/unseen-bags.test.ts.
  it('says what to do with a compression format it does not read (lz4)', async () => {
    const bag = await messageCompressedBag();
    const meta = join(bag, 'metadata.yaml');
    writeFileSync(meta, readFileSync(meta, 'utf8').replace('compression_format: zstd', 'compression_format: lz4'));
    const info = await runMain(['bag', 'info', bag]);
    expect(info.code).toBe(1);
    expect(info.stderr).toContain(
      'compression format "lz4" (only zstd is read) is not supported; decompress the bag with `ros2 bag convert` first',
    );
  });

  it('bag play publishes each message decompressed', async () => {
    const bag = await messageCompressedBag();
    const { definitions, seen, player } = playerOn(bag, { rate: 100 }, new DefinitionsRegistry({ distro: 'jazzy' }));
    await player.play(new AbortController().signal);
    const codec = new MessageCodec(definitions);
    expect(
      seen.filter((m) => m.topic === '/chatter').map((m) => codec.decode<{ data: string }>(m.type, m.data).data),
    ).toEqual(TEXTS);
  });

  it('bag import decodes every message (none kept as raw bytes)', async () => {
    const bag = await messageCompressedBag();
    const work = tempDir('msg-zstd-import-');
    cleanups.push(work.cleanup);
    const config = join(work.path, 'edge.yaml');
    writeFileSync(config, 'data_dir: ./data\n');
    const imported = await runMain(['bag', 'import', bag, '--config', config, '--json'], { cwd: work.path });
    expect(imported.code, imported.stdout + imported.stderr).toBe(0);
    const query = await runMain(
      ['query', '--config', config, '--json', "SELECT count(*)::INTEGER AS n FROM messages WHERE topic = '/chatter'"],
      { cwd: work.path },
    );
    expect(query.code, query.stdout + query.stderr).toBe(0);
    expect(query.stdout).toContain('3');
  });
});
