import { spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cli.ts';
import { stopChild } from '../helpers/stop-child.ts';
import { waitFor } from '../helpers/wait.ts';
import { metadataSummary, ros2BagInfo } from './ros2-bags-cli.ts';
import { Ros2Daemon } from './ros2-daemon.ts';
import { latchedEchoArgs, ros2, ros2Env, ros2Node } from './ros2-env.ts';

const DOMAIN = 63;
let env: NodeJS.ProcessEnv;
const cleanups: (() => Promise<unknown> | void)[] = [];

beforeAll(() => {
  env = ros2Env(DOMAIN);
});

afterEach(async () => {
  for (const undo of cleanups.splice(0).reverse()) await undo();
});

/** The number of the talker's last message, from its log (`Publishing: 'Hello World: N'`). */
function talked(output: string): number {
  const numbers = [...output.matchAll(/Publishing: 'Hello World: (\d+)'/g)].map((m) => Number(m[1]));
  return numbers.at(-1) ?? 0;
}

describe('ros2 bag and the bags of the daemon (rosbag2 0.26.5, MCAP)', () => {
  it('`ros2 bag info` and `ros2 bag play` open a zstd bag the daemon recorded, with its counts', async () => {
    const daemon = await Ros2Daemon.start(
      env,
      { enabled: false },
      {
        sim: { enabled: true, speed: 4 },
        recorder: { enabled: true, compression: 'zstd', include: ['/odom', '/map', '/tf_static'] },
      },
    );
    const bags = join(daemon.dir, 'data', 'bags');
    cleanups.push(() => daemon.stop());
    await waitFor(async () => {
      const topics = (await daemon.status()).topics as { topic: string; count: number }[];
      return (topics.find((t) => t.topic === '/odom')?.count ?? 0) >= 20;
    }, '20 /odom messages');
    // Stopped, not killed: the recorder closes the bag and writes its metadata.yaml.
    await stopChild(daemon.process.child, 'SIGINT');
    const [name] = readdirSync(bags);
    const bag = join(bags, name!);
    const ours = metadataSummary(bag);
    expect(ours.topics.get('/odom')?.count).toBeGreaterThanOrEqual(20);

    const theirs = await ros2BagInfo(env, bag);
    expect(theirs.stdout).toMatch(/Storage id:\s+mcap/);
    expect(theirs.total).toBe(ours.total);
    expect(theirs.topics).toEqual(ours.topics);

    // Played in a loop until a late transient_local reader has the recorded /map: rosbag2 offers it as recorded.
    const player = spawn('ros2', ['bag', 'play', '--loop', bag], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let playOutput = '';
    player.stderr.on('data', (d: Buffer) => (playOutput += d.toString()));
    cleanups.push(() => stopChild(player, 'SIGINT'));
    const echo = await ros2(env, latchedEchoArgs('/map', 'nav_msgs/msg/OccupancyGrid', 'header.frame_id'));
    expect(echo.code, `${echo.stderr}\nplay: ${playOutput}`).toBe(0);
    expect(echo.stdout).toContain('map');
  }, 180_000);

  // sqlite3 is rosbag2's other storage (its default before Iron): one .db3 per split.
  it.each(['mcap', 'sqlite3'])(
    'imports a bag `ros2 bag record -s %s` wrote with every message of it',
    async (storage) => {
      const dir = tempDir('ros2-record-');
      cleanups.push(dir.cleanup);
      const bag = join(dir.path, 'chatter');
      const talker = ros2Node(env, 'demo_nodes_cpp', 'talker');
      cleanups.push(() => stopChild(talker, 'SIGINT'));
      const recorder = spawn('ros2', ['bag', 'record', '-s', storage, '-o', bag, '/chatter'], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let recorded = '';
      recorder.stdout.on('data', (d: Buffer) => (recorded += d.toString()));
      recorder.stderr.on('data', (d: Buffer) => (recorded += d.toString()));
      // Once the recorder has subscribed, five more messages talked.
      await waitFor(() => recorded.includes('Subscribed to topic'), 'the recorder subscribed', 60_000);
      const from = talked(talker.output());
      await waitFor(() => talked(talker.output()) >= from + 5, 'five messages talked', 60_000);
      await stopChild(recorder, 'SIGINT');
      const theirs = await ros2BagInfo(env, bag);
      expect(theirs.stdout).toMatch(new RegExp(`Storage id:\\s+${storage}`));
      expect(theirs.topics.get('/chatter')?.count, recorded).toBeGreaterThan(0);

      const config = join(dir.path, 'edge.yaml');
      writeFileSync(
        config,
        'data_dir: ./data\nlog: {level: warn}\napi: {enabled: false}\nfoxglove: {enabled: false}\n',
      );
      const imported = await runCli(['bag', 'import', bag, '--config', config, '--json'], { cwd: dir.path });
      expect(imported.code, imported.stderr).toBe(0);
      const sql = "SELECT count(*) AS n FROM messages WHERE topic = '/chatter'";
      const query = await runCli(['query', sql, '--config', config, '--csv'], { cwd: dir.path });
      expect(query.code, query.stderr).toBe(0);
      expect(query.stdout.trim()).toBe(`n\n${theirs.topics.get('/chatter')?.count}`);
    },
    180_000,
  );
});
