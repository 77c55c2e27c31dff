// Messages larger than lakehouse.project_max_message_bytes (camera images, point clouds, a SLAM map) are
// indexed in `messages` but not decoded into their topic's table. That used to go unsaid: `bag import`
// reported them all decoded, and `query` of the topic said it was never recorded.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, runMain, tempDir } from '../helpers/cli.ts';

const work = tempDir('oversized-');
afterAll(() => work.cleanup());
const cwd = work.path;
const config = join(cwd, 'edge.yaml');
const talker = join(FIXTURES, 'bags', 'rosbag2', 'rosbag2_py', 'test', 'resources', 'mcap', 'talker');

beforeAll(() => {
  // /topic's std_msgs/String messages are 24 to 28 bytes of CDR: a 20-byte cap leaves every one of them out.
  writeFileSync(config, 'data_dir: ./data\nlakehouse:\n  project: ["/topic"]\n  project_max_message_bytes: 20\n');
});

describe('messages over lakehouse.project_max_message_bytes', () => {
  it('bag import warns per topic, and query of the topic says it was recorded and which key to raise', async () => {
    const imported = await runMain(['bag', 'import', talker, '--config', config], { cwd });
    expect(imported.code).toBe(0);
    expect(imported.stderr).toMatch(
      /^warning: \d+ message\(s\) on \/topic are larger than lakehouse\.project_max_message_bytes \(20 bytes; the largest is \d+\): indexed in messages, not decoded into the table "\/topic"; raise the key to query them by field/m,
    );
    expect(imported.stderr).not.toContain('/rosout'); // not projected (lakehouse.project): nothing to warn of

    const r = await runMain(['query', 'SELECT count(*) FROM "/topic"', '--config', config], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no table for topic /topic in the lakehouse at ');
    expect(r.stderr).toContain(
      ": it was recorded (1 segment(s); its messages are in the messages table: SELECT * FROM messages WHERE topic = '/topic'), but not decoded into columns: its messages are larger than lakehouse.project_max_message_bytes",
    );
    const inMessages = await runMain(
      ['query', "SELECT count(*)::INTEGER FROM messages WHERE topic = '/topic'", '--config', config, '--json'],
      { cwd },
    );
    expect((JSON.parse(inMessages.stdout) as { rows: number[][] }).rows[0]![0]).toBeGreaterThan(0);
  });
});
