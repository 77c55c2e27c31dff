import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { expect } from 'vitest';
import { stopChild } from '../helpers/stop-child.ts';
import { waitFor } from '../helpers/wait.ts';
import { ros2 } from './ros2-env.ts';

/** What a bag says of itself: per-topic counts and types, the total, the duration and the files. */
export interface BagSummary {
  total: number;
  topics: Map<string, { type: string; count: number }>;
  durationNs: number;
  files: string[];
}

interface MetadataYaml {
  rosbag2_bagfile_information: {
    message_count: number;
    duration: { nanoseconds: number };
    relative_file_paths: string[];
    topics_with_message_count: { topic_metadata: { name: string; type: string }; message_count: number }[];
  };
}

/** The bag as its metadata.yaml has it (what the daemon wrote, or its repair rebuilt). */
export function metadataSummary(bag: string): BagSummary {
  const info = (parse(readFileSync(join(bag, 'metadata.yaml'), 'utf8')) as MetadataYaml).rosbag2_bagfile_information;
  return {
    total: info.message_count,
    topics: new Map(
      info.topics_with_message_count.map((t) => [
        t.topic_metadata.name,
        { type: t.topic_metadata.type, count: t.message_count },
      ]),
    ),
    durationNs: info.duration.nanoseconds,
    files: info.relative_file_paths,
  };
}

/** `ros2 bag info` of `bag`, as it prints it; fails the test when it refuses the bag. */
export async function ros2BagInfo(env: NodeJS.ProcessEnv, bag: string): Promise<BagSummary & { stdout: string }> {
  const info = await ros2(env, ['bag', 'info', bag]);
  expect(info.code, `ros2 bag info ${bag}:\n${info.stderr}`).toBe(0);
  const { stdout } = info;
  // "Files:             a_0.mcap\n                   a_1.mcap\n" up to "Bag size:".
  const filesBlock = /^Files:\s+([\s\S]*?)^Bag size:/m.exec(stdout)?.[1] ?? '';
  const [, seconds = 'NaN', fraction = '0'] = /^Duration:\s+(\d+)\.?(\d*)s$/m.exec(stdout) ?? [];
  return {
    total: Number(/^Messages:\s+(\d+)$/m.exec(stdout)?.[1]),
    topics: new Map(
      [...stdout.matchAll(/Topic: (\S+) \| Type: (\S+) \| Count: (\d+)/g)].map((m) => [
        m[1]!,
        { type: m[2]!, count: Number(m[3]) },
      ]),
    ),
    durationNs: Number(seconds) * 1e9 + Number(fraction.padEnd(9, '0')),
    files: filesBlock
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== ''),
    stdout,
  };
}

/**
 * Plays `bag` with `ros2 bag play` into a `ros2 bag record` of `topics` (two ROS 2 processes, no rclnodejs), and
 * returns what that recording holds as `ros2 bag info` reads it. The player starts paused and is resumed once the
 * recorder has subscribed to every topic, so no message goes out before a reader is there; it waits for every
 * reliable message to be acknowledged before it exits. Both sides are reliable KEEP_ALL (their QoS overrides): with
 * the recorded KEEP_LAST depths a loaded machine lost a few of 130 messages between them, history overwritten before
 * the slower side took it.
 */
export async function playIntoRecorder(
  env: NodeJS.ProcessEnv,
  { bag, topics, into }: { bag: string; topics: string[]; into: string },
): Promise<BagSummary & { stdout: string }> {
  const overrides = join(dirname(into), 'keep-all-qos.yaml');
  writeFileSync(
    overrides,
    topics.map((t) => `${t}: {history: keep_all, reliability: reliable, durability: volatile}\n`).join(''),
  );
  const qos = ['--qos-profile-overrides-path', overrides];
  const player = spawn(
    'ros2',
    ['bag', 'play', '--start-paused', '--disable-keyboard-controls', '--wait-for-all-acked', '10000', ...qos, bag],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let played = '';
  player.stdout.on('data', (d: Buffer) => (played += d.toString()));
  player.stderr.on('data', (d: Buffer) => (played += d.toString()));
  const playerDone = new Promise<number | null>((resolve) => player.on('close', (code) => resolve(code)));
  const recorder = spawn('ros2', ['bag', 'record', '-s', 'mcap', ...qos, '-o', into, ...topics], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let recorded = '';
  recorder.stdout.on('data', (d: Buffer) => (recorded += d.toString()));
  recorder.stderr.on('data', (d: Buffer) => (recorded += d.toString()));
  try {
    await waitFor(
      () => {
        // A player that refused the bag has exited: said at once, with why, rather than after the wait.
        if (player.exitCode !== null) throw new Error(`ros2 bag play ${bag} exited ${player.exitCode}:\n${played}`);
        return topics.every((t) => recorded.includes(`Subscribed to topic '${t}'`));
      },
      `ros2 bag record subscribed to ${topics.join(', ')}`,
      60_000,
    );
    const resumed = await ros2(env, ['service', 'call', '/rosbag2_player/resume', 'rosbag2_interfaces/srv/Resume']);
    expect(resumed.code, `${resumed.stdout}${resumed.stderr}\nplay: ${played}`).toBe(0);
    expect(await playerDone, `ros2 bag play ${bag}:\n${played}`).toBe(0);
  } finally {
    await stopChild(player, 'SIGINT');
    await stopChild(recorder, 'SIGINT');
  }
  return ros2BagInfo(env, into);
}
