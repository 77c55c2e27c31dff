// BagPlayer (`auraison-edge bag play`): cases a robotics engineer meets that the
// feature's own tests leave out. Real bags from test/fixtures, and MCAP files written here with
// @mcap/core where a case needs a layout no fixture has (chunks that overlap in time, a month-long gap).
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { playerOn } from '../helpers/bag-player.ts';
import { openIndexedMcap, writeStringMcap } from '../helpers/mcap-file.ts';
import { FIXTURES, tempDir } from '../helpers/cli.ts';
import { tick, waitFor } from '../helpers/wait.ts';

const TALKER = join(FIXTURES, 'bags/rosbag2/rosbag2_py/test/resources/mcap/talker');
const WBAG = join(FIXTURES, 'bags/rosbag2/rosbag2_py/test/resources/mcap/wbag');
const work = tempDir('review-s18-play-');
afterAll(() => work.cleanup());
afterEach(() => vi.restoreAllMocks());
const registry = new DefinitionsRegistry();
const codec = new MessageCodec(registry);

/** The talker bag's messages as recorded: data (hex) to log time. */
async function recordedTimes(file: string): Promise<Map<string, bigint>> {
  const out = new Map<string, bigint>();
  for await (const m of (await openIndexedMcap(file)).readMessages())
    out.set(Buffer.from(m.data).toString('hex'), m.logTime);
  return out;
}

const T0 = 1_700_000_000_000_000_000n;

describe('BagPlayer at the edges of a play', () => {
  it('a Ctrl-C before the first message of a pass stops the play; it is no "nothing to play" failure', async () => {
    // Ctrl-C already there (it came while the daemon started), or while the player reads through a start
    // where no selected topic speaks (--topics, --start-offset; each --loop pass reads it again). Before the
    // fix `bag play` then exited 1 with "nothing to play: no message on a selected topic" and no summary.
    const early = new AbortController();
    early.abort();
    await expect(playerOn(TALKER).player.play(early.signal)).resolves.toMatchObject({
      stopped: true,
      passes: 1,
      messages: {},
    });

    const abort = new AbortController();
    const { player } = playerOn(TALKER, { select: () => (abort.abort(), false) });
    await expect(player.play(abort.signal)).resolves.toMatchObject({ stopped: true, messages: {} });
  });

  it('counts the bag time of the pass it was stopped in', async () => {
    const times = await recordedTimes(join(TALKER, 'talker.mcap'));
    const abort = new AbortController();
    const { player, bus } = playerOn(TALKER, { rate: 20 });
    const played: bigint[] = [];
    bus.subscribe({
      name: 'stopper',
      topic: '**',
      queue: { policy: 'drop-newest', depth: 1000 },
      handler: (m) => {
        played.push(times.get(Buffer.from(m.data).toString('hex'))!);
        if (played.length === 8) abort.abort(); // Ctrl-C halfway through the bag
      },
    });
    const stats = await player.play(abort.signal);
    await tick();
    expect(stats.stopped).toBe(true);
    const span = Number(played.reduce((a, b) => (b > a ? b : a)) - played[0]!) / 1e9;
    expect(span).toBeGreaterThan(1);
    // Before the fix: 0 ("stopped after publishing 8 message(s) ...: 0 s of bag time").
    expect(stats.bag_s).toBeCloseTo(span, 3);
  });

  it('plays an MCAP file whose chunks overlap in time in log-time order, as ros2 bag play reads MCAP', async () => {
    // /a's chunk, then /b's, each over the same second (a writer that buffers per topic, a conversion that
    // writes topic by topic). rosbag2's MCAP storage reads in log-time order.
    const file = join(work.path, 'per-topic-chunks.mcap');
    const per = (topic: string) =>
      Array.from({ length: 40 }, (_, i): [string, bigint, string] => [
        topic,
        T0 + BigInt(i) * 25_000_000n,
        `${topic} ${i}`,
      ]);
    await writeStringMcap(file, [...per('/a'), ...per('/b')], undefined, 512);
    const { player, seen } = playerOn(file, { rate: 1000 });
    await player.play(new AbortController().signal);
    await tick();
    const recorded = seen.map((m) =>
      Number((codec.decode('std_msgs/msg/String', m.data) as { data: string }).data.split(' ')[1]),
    );
    expect(recorded).toHaveLength(80);
    // Before the fix: all of /a over the second, then all of /b at once when /a ended.
    expect(recorded).toEqual([...recorded].sort((x, y) => x - y));
  });

  it('plays topics a bag names without a leading slash as ROS does, in the root namespace (/AAA)', async () => {
    // rosbag2_py's own test bag, written by a script (TopicMetadata(name='AAA', ...)): ros2 bag play
    // publishes it on /AAA. Before the fix every topic was refused ("must start with /") and the play
    // failed with "nothing to play: no message on a selected topic".
    const { player } = playerOn(WBAG, { rate: 1000 });
    const stats = await player.play(new AbortController().signal);
    expect(stats.skipped).toEqual([]);
    expect(Object.keys(stats.messages).sort()).toEqual([
      '/AAA',
      '/BBB',
      '/CCC',
      '/DDD',
      '/EEE',
      '/FFF',
      '/GGG',
      '/HHH',
    ]);
    expect(Object.values(stats.messages).reduce((a, b) => a + b, 0)).toBe(6074);
  });

  it('waits out a gap longer than a timer can hold without spinning (a first message stamped 0 before /clock came)', async () => {
    const file = join(work.path, 'gap.mcap');
    await writeStringMcap(file, [
      ['/x', 0n, 'before /clock'],
      ['/x', T0, 'after'],
    ]);
    const timers = vi.spyOn(globalThis, 'setTimeout');
    const abort = new AbortController();
    const { player, seen } = playerOn(file);
    const playing = player.play(abort.signal);
    await waitFor(
      () => seen.length === 1 && timers.mock.calls.some(([, ms]) => (ms ?? 0) > 3_600_000),
      'the player to sleep towards the second message',
    );
    abort.abort();
    expect(await playing).toMatchObject({ stopped: true, messages: { '/x': 1 } });
    // Node fires a timer of more than 2^31-1 ms after 1 ms (TimeoutOverflowWarning): before the fix the
    // player woke every millisecond and printed that warning each time, about a thousand lines a second.
    const longest = Math.max(...timers.mock.calls.map(([, ms]) => ms ?? 0));
    expect(longest).toBeLessThanOrEqual(2 ** 31 - 1);
  });
});
