// `bag play --clock [HZ]`: the playback time on /clock (rosgraph_msgs/msg/Clock), as `ros2 bag play --clock`
// gives nodes with use_sim_time their time, played from the real rosbag2 talker bag in test/fixtures.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bagInfo } from '../../daemon/bags/bag-info.ts';
import type { PlayOptions } from '../../daemon/bags/player.ts';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { playerOn } from '../helpers/bag-player.ts';
import { FIXTURES, runMain, tempDir } from '../helpers/cli.ts';
import { tick } from '../helpers/wait.ts';

const TALKER = join(FIXTURES, 'bags/rosbag2/rosbag2_py/test/resources/mcap/talker');
const work = tempDir('bag-play-clock-');
afterAll(() => work.cleanup());

function clockPlayer(options: Partial<PlayOptions>) {
  const { bus, definitions, seen, player } = playerOn(TALKER, options);
  const codec = new MessageCodec(definitions);
  const clocks = () =>
    seen
      .filter((m) => m.topic === '/clock')
      .map((m) => {
        expect(m.type).toBe('rosgraph_msgs/msg/Clock');
        const { clock } = codec.decode('rosgraph_msgs/msg/Clock', m.data) as {
          clock: { sec: number; nanosec: number };
        };
        return BigInt(clock.sec) * 1_000_000_000n + BigInt(clock.nanosec);
      });
  return { bus, seen, player, clocks };
}

describe('bag play --clock', () => {
  it('publishes the bag time on /clock from the first message on, never going back within a pass', async () => {
    const { seen, player, clocks, bus } = clockPlayer({ rate: 4, clockHz: 200 });
    const stats = await player.play(new AbortController().signal);
    await tick();
    const times = clocks();
    const played = seen.filter((m) => m.topic !== '/clock');
    expect(played).toHaveLength(20);
    expect(stats.clock).toEqual({ hz: 200, published: times.length });
    expect(times.length).toBeGreaterThan(0);
    for (let i = 1; i < times.length; i++) expect(times[i]!).toBeGreaterThanOrEqual(times[i - 1]!);
    // The bag's own times (2020 for this bag), not the wall clock's: from its first message on, and within
    // a rate's worth of timer slack past its end.
    const { startNs, endNs } = await bagInfo(TALKER);
    expect(times[0]!).toBeGreaterThanOrEqual(startNs!);
    expect(times.at(-1)!).toBeLessThan(endNs! + 1_000_000_000n);
    // The /clock publisher is gone once the play ends.
    expect(bus.stats().find((t) => t.topic === '/clock')!.publishers).toBe(0);
  });

  it("goes back to the bag's start when --loop plays it again, as a time jump back on ROS", async () => {
    const { player, clocks, seen } = clockPlayer({ rate: 20, loop: true, clockHz: 500 });
    const abort = new AbortController();
    const playing = player.play(abort.signal);
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (seen.filter((m) => m.topic === '/topic').length >= 15) {
          clearInterval(check);
          resolve();
        }
      }, 5);
    });
    abort.abort();
    const stats = await playing;
    expect(stats.passes).toBeGreaterThanOrEqual(2);
    const times = clocks();
    const jumpsBack = times.filter((t, i) => i > 0 && t < times[i - 1]!).length;
    expect(jumpsBack).toBeGreaterThanOrEqual(1);
  });

  it("does not play the bag's own /clock beside it (here the talker's /topic remapped onto /clock)", async () => {
    const { player, seen } = clockPlayer({ rate: 10, clockHz: 100, remap: new Map([['/topic', '/clock']]) });
    const stats = await player.play(new AbortController().signal);
    await tick();
    expect(stats.skipped).toEqual([
      { topic: '/topic', reason: '--clock publishes /clock from the playback time instead' },
    ]);
    expect(seen.filter((m) => m.topic === '/clock').every((m) => m.type === 'rosgraph_msgs/msg/Clock')).toBe(true);
    expect(stats.messages).toEqual({ '/rosout': 10 });
  });

  it('the CLI takes --clock alone (40 Hz, as ros2 bag play) or with a rate, and refuses a rate out of range', async () => {
    const config = join(work.path, 'play.yaml');
    writeFileSync(config, `data_dir: ${join(work.path, 'play')}\napi: {enabled: false}\nfoxglove: {enabled: false}\n`);
    const play = (...args: string[]) =>
      runMain(['bag', 'play', ...args, '--rate', '10', '--config', config], { cwd: work.path });

    const bare = await play('--json', '--clock', TALKER);
    expect(bare.code, bare.stderr).toBe(0);
    expect(JSON.parse(bare.stdout)).toMatchObject({
      messages: { '/topic': 10, '/rosout': 10 },
      clock: { hz: 40, published: expect.any(Number) },
    });
    const rated = await play(TALKER, '--clock', '250');
    expect(rated.code, rated.stderr).toBe(0);
    expect(rated.stdout).toMatch(/\n\/clock: \d+ message\(s\) at 250 Hz\n/);
    const off = await play('--json', TALKER);
    expect(JSON.parse(off.stdout)).toMatchObject({ clock: null });

    expect(await play(TALKER, '--clock', '0')).toMatchObject({ code: 2, stderr: expect.stringContaining('--clock') });
    expect(await play(TALKER, '--clock', '5000')).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--clock: at most 1000 Hz'),
    });
  });
});
