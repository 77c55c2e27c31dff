// `auraison-edge bag play` while the operator's stop is latched: a bag is a door like any other, so what actuates
// in it (an arm's trajectory, a forward controller's array, a Twist that moves) is held back, counted and said;
// what does not (the arm's measured /joint_states, a hold, a zero Twist, a String) plays as recorded.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { playerOn } from '../helpers/bag-player.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { writeMessagesMcap } from '../helpers/mcap-file.ts';

const work = tempDir('bag-play-latched-');
afterAll(() => work.cleanup());

const ARM = '/arm_controller/joint_trajectory';
const FORWARD = '/forward_position_controller/commands';
const TRAJECTORY = 'trajectory_msgs/msg/JointTrajectory';
const ARRAY = 'std_msgs/msg/Float64MultiArray';
const move = { joint_names: ['j1', 'j2'], points: [{ positions: [3, -3], time_from_start: { sec: 1 } }] };

/** [topic, type, fields] in the order played, a millisecond apart. */
const MESSAGES: [string, string, Record<string, unknown>][] = [
  ['/joint_states', 'sensor_msgs/msg/JointState', { name: ['j1', 'j2'], position: [1, 0.5] }],
  [ARM, TRAJECTORY, move],
  ['/chatter', 'std_msgs/msg/String', { data: 'hello' }],
  [ARM, TRAJECTORY, { joint_names: ['j1', 'j2'], points: [] }],
  [FORWARD, ARRAY, { data: [0, 0] }],
  ['/cmd_vel', 'geometry_msgs/msg/Twist', { linear: { x: 0.4 } }],
  ['/cmd_vel', 'geometry_msgs/msg/Twist', {}],
  [ARM, TRAJECTORY, move],
];

/** The bag of MESSAGES, a millisecond apart. */
function writeBag(file: string): Promise<void> {
  const start = 1_700_000_000_000_000_000n;
  return writeMessagesMcap(
    file,
    MESSAGES.map(([topic, type, fields], i) => ({ topic, type, fields, logTime: start + BigInt(i) * 1_000_000n })),
  );
}

describe('bag play while the stop is latched', () => {
  it('publishes none of what actuates, counts it per topic and says why; the rest plays', async () => {
    const bag = join(work.path, 'arm.mcap');
    await writeBag(bag);
    let latched: string | undefined = 'the robot is stopped: latched by ada';
    const latch = { refusal: () => latched };
    const { seen, player } = playerOn(bag, { rate: 1000 }, new DefinitionsRegistry(), latch);
    const stats = await player.play(new AbortController().signal);
    expect(stats.held).toEqual({ [ARM]: 2, [FORWARD]: 1, '/cmd_vel': 1 });
    expect(stats.messages).toEqual({ '/joint_states': 1, [ARM]: 1, '/chatter': 1, '/cmd_vel': 1 });
    expect(stats.held_reason).toBe(`the robot is stopped: latched by ada (a ${TRAJECTORY} with points, on ${ARM})`);
    const codec = new MessageCodec(new DefinitionsRegistry());
    const arm = seen.filter((m) => m.topic === ARM).map((m) => codec.decode<{ points: unknown[] }>(TRAJECTORY, m.data));
    expect(arm.map((m) => m.points.length)).toEqual([0]);
    expect(seen.some((m) => m.topic === FORWARD)).toBe(false);

    // Released (nothing latched), the same bag plays whole.
    latched = undefined;
    const again = playerOn(bag, { rate: 1000 }, new DefinitionsRegistry(), latch).player;
    const whole = await again.play(new AbortController().signal);
    expect(whole.held).toEqual({});
    expect(whole.held_reason).toBeNull();
    expect(whole.messages[ARM]).toBe(3);
  });

  it('`bag play` reads the latch file of its data dir and says what it held back', async () => {
    const bag = join(work.path, 'cli.mcap');
    await writeBag(bag);
    const dataDir = join(work.path, 'data');
    mkdirSync(join(dataDir, 'state'), { recursive: true });
    const since = '2026-11-27T10:00:00.000Z';
    writeFileSync(join(dataDir, 'state', 'stop-latch.json'), JSON.stringify({ by: 'ada', reason: 'arm test', since }));
    const config = join(work.path, 'edge.yaml');
    writeFileSync(config, `data_dir: ${dataDir}\napi: {enabled: false}\nfoxglove: {enabled: false}\n`);
    const json = await runMain(['bag', 'play', bag, '--rate', '100', '--config', config, '--json'], { cwd: work.path });
    expect(json.code, json.stderr).toBe(0);
    const stats = JSON.parse(json.stdout) as { held: Record<string, number>; held_reason: string };
    expect(stats.held).toEqual({ [ARM]: 2, [FORWARD]: 1, '/cmd_vel': 1 });
    expect(stats.held_reason).toContain(`latched by ada at ${since} (arm test)`);

    const text = await runMain(['bag', 'play', bag, '--rate', '100', '--config', config], { cwd: work.path });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(
      "held back, not published: 4 message(s) that actuate, while the operator's stop was latched: the robot is stopped: latched by ada",
    );
    expect(text.stdout).toContain('`auraison-edge stop --release`');
    expect(text.stdout).toMatch(new RegExp(`\\n  ${ARM}  2\\n`));
  });
});
