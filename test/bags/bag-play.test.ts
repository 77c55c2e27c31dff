// `auraison-edge bag play` and BagPlayer: a recorded bag back on the bus as `ros2 bag play` puts it on ROS.
// Real rosbag2 bags from test/fixtures (MCAP and sqlite3), one the daemon's own recorder wrote from the
// sim, and MCAP files written here with @mcap/core (a custom type, a cut-off file).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { McapIndexedReader, McapWriter } from '@mcap/core';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { decompressHandlers } from '../../daemon/bags/decompress.ts';
import { BagPlayer, CLOCK_TOPIC } from '../../daemon/bags/player.ts';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { compileTopicSelection } from '../../daemon/bus/glob.ts';
import type { BusMessage } from '../../daemon/bus/types.ts';
import { parseConfigText } from '../../daemon/config/load.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { TurtlebotMazeSim } from '../../sim/turtlebot-maze/index.ts';
import { FIXTURES, runMain, tempDir } from '../helpers/cli.ts';
import { tick, waitFor } from '../helpers/wait.ts';
import { playerOn } from '../helpers/bag-player.ts';
import { running } from '../helpers/daemon.ts';

const TALKER = join(FIXTURES, 'bags/rosbag2/rosbag2_py/test/resources/mcap/talker');
const CDR_DB3 = join(FIXTURES, 'bags/rosbag2/rosbag2_tests/resources/sqlite3/cdr_test');
const work = tempDir('bag-play-');
afterAll(() => work.cleanup());
const log = pino({ level: 'silent' });

async function mcapMessages(file: string) {
  const bytes = readFileSync(file);
  const reader = await McapIndexedReader.Initialize({
    readable: {
      size: async () => BigInt(bytes.byteLength),
      read: async (o, l) => bytes.subarray(Number(o), Number(o + l)),
    },
    decompressHandlers: await decompressHandlers(),
  });
  const out: { topic: string; type: string; logTime: bigint; data: Uint8Array }[] = [];
  for await (const m of reader.readMessages()) {
    const channel = reader.channelsById.get(m.channelId)!;
    out.push({
      topic: channel.topic,
      type: reader.schemasById.get(channel.schemaId)!.name,
      logTime: m.logTime,
      data: m.data,
    });
  }
  return out;
}

describe('BagPlayer', () => {
  it('publishes every message of a real ROS 2 bag byte for byte with its type, in order, and never before its time', async () => {
    const { seen, player, bus, definitions } = playerOn(TALKER, { rate: 20, clockHz: 1000 });
    const arrived: number[] = [];
    bus.subscribe({
      name: 'arrivals',
      topic: '**',
      queue: { policy: 'drop-newest', depth: 1_000_000 },
      handler: (m) => void (m.topic !== CLOCK_TOPIC && arrived.push(performance.now())),
    });
    const called = performance.now();
    const stats = await player.play(new AbortController().signal);
    await tick();
    const recorded = await mcapMessages(join(TALKER, 'talker.mcap'));
    const played = seen.filter((m) => m.topic !== CLOCK_TOPIC);
    expect(played.map((m) => [m.topic, m.type, Buffer.from(m.data).toString('hex')])).toEqual(
      recorded.map((m) => [m.topic, m.type, Buffer.from(m.data).toString('hex')]),
    );
    expect(played.every((m) => m.source === 'bag-play')).toBe(true);
    // Never before its time: each message no earlier than its recorded offset from the first, divided by the
    // rate, after play() was called (the schedule starts later, at the first message). Not measured from the
    // first message's stamp: that is taken whenever the process runs next, on the wall clock.
    expect(arrived).toHaveLength(recorded.length);
    for (const [i, at] of arrived.entries())
      expect(at - called, `message ${i}`).toBeGreaterThanOrEqual(
        Number(recorded[i]!.logTime - recorded[0]!.logTime) / 1e6 / 20,
      );
    // And to the tick, on the player's own timeline (the bag time --clock publishes, as a node with use_sim_time
    // reads it): a /clock published after a message never reads a time before that message's recorded one.
    // How many ticks fall between messages is the machine's (a late player catches up without waiting).
    const codec = new MessageCodec(definitions);
    let clockAfter: bigint | undefined;
    for (let i = seen.length - 1, k = recorded.length - 1; i >= 0; i--) {
      const m = seen[i]!;
      if (m.topic === CLOCK_TOPIC) {
        const { clock } = codec.decode(m.type, m.data) as { clock: { sec: number; nanosec: number } };
        clockAfter = BigInt(clock.sec) * 1_000_000_000n + BigInt(clock.nanosec);
      } else {
        const due = recorded[k--]!.logTime;
        if (clockAfter !== undefined) expect(clockAfter, `/clock after message ${k + 1}`).toBeGreaterThanOrEqual(due);
      }
    }
    expect(stats).toMatchObject({ messages: { '/topic': 10, '/rosout': 10 }, skipped: [], passes: 1, stopped: false });
    expect(stats.bag_s).toBeCloseTo(4.531, 2);
    expect(stats.wall_s).toBeGreaterThanOrEqual(4.531 / 20);
    // The publishers are gone once the play ends.
    expect(bus.stats().find((t) => t.topic === '/topic')!.publishers).toBe(0);
  });

  it('plays a sqlite3 bag under its recorded types; a type without a definition anywhere passes as bytes', async () => {
    const { seen, player, definitions } = playerOn(CDR_DB3, { rate: 10 });
    const stats = await player.play(new AbortController().signal);
    await tick();
    expect(stats.messages).toEqual({ '/test_topic': 3, '/array_topic': 4 });
    expect(new Set(seen.map((m) => m.type))).toEqual(new Set(['test_msgs/msg/BasicTypes', 'test_msgs/msg/Arrays']));
    expect(
      new MessageCodec(definitions).decode(
        'test_msgs/msg/BasicTypes',
        seen.find((m) => m.topic === '/test_topic')!.data,
      ),
    ).toMatchObject({ bool_value: expect.any(Boolean) });

    const bare = playerOn(CDR_DB3, { rate: 10 });
    const none = new BagPlayer(
      { bus: bare.bus, definitions: new DefinitionsRegistry({ distro: 'none' }), log },
      { path: CDR_DB3, rate: 10, loop: false, select: () => true, startOffsetNs: 0n, remap: new Map() },
    );
    expect((await none.play(new AbortController().signal)).messages).toEqual({ '/test_topic': 3, '/array_topic': 4 });
    await tick();
    expect(bare.seen.map((m) => m.type).sort()).toEqual([...seen.map((m) => m.type)].sort());
  });

  it('selects, remaps and skips the start as --topics, --exclude, --remap and --start-offset ask', async () => {
    const recorded = (await mcapMessages(join(TALKER, 'talker.mcap'))).filter((m) => m.topic === '/topic');
    const offsetNs = 2_000_000_000n;
    const { seen, player } = playerOn(TALKER, {
      rate: 50,
      select: compileTopicSelection(['/t*', '/rosout'], ['/rosout']),
      remap: new Map([['/topic', '/chatter']]),
      startOffsetNs: offsetNs,
    });
    const stats = await player.play(new AbortController().signal);
    await tick();
    const start = (await mcapMessages(join(TALKER, 'talker.mcap')))[0]!.logTime;
    const expected = recorded.filter((m) => m.logTime >= start + offsetNs);
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(recorded.length);
    expect(seen.map((m) => [m.topic, Buffer.from(m.data).toString('hex')])).toEqual(
      expected.map((m) => ['/chatter', Buffer.from(m.data).toString('hex')]),
    );
    expect(stats.skipped).toEqual([{ topic: '/rosout', reason: 'not selected (--topics, --exclude)' }]);
  });

  it('loops until stopped, and says it was stopped', async () => {
    const { seen, player } = playerOn(TALKER, { rate: 200, loop: true });
    const abort = new AbortController();
    const playing = player.play(abort.signal);
    await waitFor(() => seen.length >= 45, 'three passes of the bag');
    abort.abort();
    const stats = await playing;
    expect(stats.stopped).toBe(true);
    expect(stats.passes).toBeGreaterThanOrEqual(3);
    expect(Object.values(stats.messages).reduce((a, b) => a + b, 0)).toBe(seen.length);
  });

  it("learns a custom type from the bag's MCAP schema (with the types it uses), so its messages decode", async () => {
    const file = join(work.path, 'custom.mcap');
    const registry = new DefinitionsRegistry();
    registry.addMessageText('my_pkg/msg/Inner', 'int32 a\n', 'test');
    registry.addMessageText('my_pkg/msg/Outer', 'my_pkg/Inner inner\nstring name\n', 'test');
    const data = new MessageCodec(registry).encode('my_pkg/msg/Outer', { inner: { a: 42 }, name: 'hello' });
    await writeMcap(
      file,
      'my_pkg/msg/Outer',
      `my_pkg/Inner inner\nstring name\n${'='.repeat(80)}\nMSG: my_pkg/Inner\nint32 a\n`,
      [data],
    );
    const { seen, player, definitions } = playerOn(file);
    await player.play(new AbortController().signal);
    await tick();
    expect(seen).toHaveLength(1);
    expect(new MessageCodec(definitions).decode('my_pkg/msg/Outer', seen[0]!.data)).toEqual({
      inner: { a: 42 },
      name: 'hello',
    });
  });

  it('stops with an error naming a file cut off mid-chunk, and says how to finish it; what went before stays published', async () => {
    const whole = join(work.path, 'whole.mcap');
    const registry = new DefinitionsRegistry();
    const codec = new MessageCodec(registry);
    await writeMcap(
      whole,
      'std_msgs/msg/String',
      'string data\n',
      Array.from({ length: 200 }, (_, i) => codec.encode('std_msgs/msg/String', { data: `m${i}`.padEnd(200, '.') })),
      4096,
    );
    const cut = join(work.path, 'cut.mcap');
    const bytes = readFileSync(whole);
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.byteLength * 0.6)));
    const { seen, player } = playerOn(cut, { rate: 1000 });
    await expect(player.play(new AbortController().signal)).rejects.toThrow(/cut\.mcap: .*bag repair/);
    await tick();
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.length).toBeLessThan(200);
  });
});

describe('auraison-edge bag play', () => {
  it(
    'plays a bag the recorder wrote from the sim into a daemon: latched /map reaches a late subscriber, the summary counts each topic',
    { timeout: 60_000 },
    async () => {
      const rec = join(work.path, 'rec');
      const yaml = [
        `data_dir: ${rec}`,
        'sim: {enabled: true, speed: 10, paused: true}',
        'recorder: {enabled: true}',
        'lakehouse: {enabled: false}',
        'api: {enabled: false}',
        'foxglove: {enabled: false}',
        'agent: {enabled: false}',
      ].join('\n');
      const daemon = new Daemon({ config: parseConfigText(yaml, 'edge.yaml'), log, cwd: work.path });
      await daemon.start();
      const sim = running(daemon, TurtlebotMazeSim)!;
      sim.unpause();
      await sim.until(1);
      await daemon.close();

      const bag = join(rec, 'bags', readdirSync(join(rec, 'bags'))[0]!);
      const played = playerOn(bag, { rate: 5 });
      const stats = await played.player.play(new AbortController().signal);
      const late: BusMessage[] = [];
      played.bus.subscribe({
        name: 'late',
        topic: '/map',
        queue: { policy: 'keep-latest', depth: 1 },
        handler: (m) => void late.push(m),
      });
      await tick();
      expect(late).toHaveLength(1);
      expect(late[0]!.type).toBe('nav_msgs/msg/OccupancyGrid');
      expect(stats.messages['/odom']).toBeGreaterThanOrEqual(25);

      const config = join(work.path, 'play.yaml');
      writeFileSync(
        config,
        `data_dir: ${join(work.path, 'play')}\napi: {enabled: false}\nfoxglove: {enabled: false}\n`,
      );
      const cli = await runMain(
        ['bag', 'play', bag, '--rate', '10', '--config', config, '--json', '--exclude', '/cmd_vel'],
        { cwd: work.path },
      );
      expect(cli.code).toBe(0);
      const summary = JSON.parse(cli.stdout) as {
        messages: Record<string, number>;
        dropped: number;
        passes: number;
        late_ms: { p99: number };
      };
      // The robot's own topics (what it measures, what it is) are the robot's graph's alone: bag play may not
      // publish them, and says so.
      const robotOwn = ['/joint_states', '/robot_description'];
      expect(summary.messages).toEqual(
        Object.fromEntries(Object.entries(stats.messages).filter(([t]) => t !== '/cmd_vel' && !robotOwn.includes(t))),
      );
      expect(summary).toMatchObject({ passes: 1, dropped: 0 });
      const skipped = (summary as unknown as { skipped: { topic: string; reason: string }[] }).skipped;
      expect(skipped.filter((s) => s.topic === '/cmd_vel')).toEqual(
        stats.messages['/cmd_vel'] ? [{ topic: '/cmd_vel', reason: 'not selected (--topics, --exclude)' }] : [],
      );
      for (const topic of robotOwn.filter((t) => stats.messages[t]))
        expect(skipped.find((s) => s.topic === topic)?.reason).toMatch(/bag-play may not publish on .*only the robot/);

      const text = await runMain(['bag', 'play', bag, '--rate', '10', '--config', config, '--topics', '/odom'], {
        cwd: work.path,
      });
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(
        new RegExp(
          `^playing .+ \\(mcap, 1 file\\(s\\)\\) at 10x\\npublished ${stats.messages['/odom']} message\\(s\\) on 1 topic\\(s\\): [\\d.]+ s of bag time in [\\d.]+ s\\n  /odom  ${stats.messages['/odom']}\\nlate against the schedule: p50 [\\d.]+ ms, p99 [\\d.]+ ms, max [\\d.]+ ms; dropped by subscribers: 0\\nnot selected \\(--topics, --exclude\\): /map, .+\\n$`,
        ),
      );
    },
  );

  it('refuses bad usage (exit 2) and a path that is no bag (exit 1)', async () => {
    expect(await runMain(['bag', 'play', TALKER, '--rate', '0'], { cwd: work.path })).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--rate'),
    });
    expect(await runMain(['bag', 'play', TALKER, '--rate', '5000'], { cwd: work.path })).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--rate: at most 1000'),
    });
    expect(await runMain(['bag', 'play', TALKER, '--remap', 'odom=x'], { cwd: work.path })).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--remap: expected FROM:=TO'),
    });
    expect(await runMain(['bag', 'play'], { cwd: work.path })).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('missing argument: PATH'),
    });
    // rosbag2's empty bag (recorded while nothing was published): nothing to play, as ros2 bag play says, exit 0.
    const emptyConfig = join(work.path, 'empty.yaml');
    writeFileSync(
      emptyConfig,
      `data_dir: ${join(work.path, 'empty')}\napi: {enabled: false}\nfoxglove: {enabled: false}\n`,
    );
    const empty = await runMain(
      ['bag', 'play', join(FIXTURES, 'bags/rosbag2/ros2bag/test/resources/empty_bag'), '--config', emptyConfig],
      { cwd: work.path },
    );
    expect(empty.stderr).toBe('');
    expect(empty.code).toBe(0);
    expect(empty.stdout).toMatch(
      /\nthe bag holds no message \(nothing was published while it was recorded\): nothing to play\n$/,
    );
    const none = await runMain(['bag', 'play', join(work.path, 'nothing-here')], { cwd: work.path });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^auraison-edge bag play: .*nothing-here: no such file or directory\n$/);
  });
});

async function writeMcap(
  file: string,
  type: string,
  schemaText: string,
  messages: Uint8Array[],
  chunkSize = 1 << 20,
): Promise<void> {
  const chunks: Uint8Array[] = [];
  let position = 0n;
  const writer = new McapWriter({
    writable: {
      position: () => position,
      write: async (b) => void (chunks.push(b.slice()), (position += BigInt(b.byteLength))),
    },
    useChunks: true,
    chunkSize,
  });
  await writer.start({ profile: 'ros2', library: 'test' });
  const schemaId = await writer.registerSchema({
    name: type,
    encoding: 'ros2msg',
    data: new TextEncoder().encode(schemaText),
  });
  const channelId = await writer.registerChannel({
    topic: '/custom',
    schemaId,
    messageEncoding: 'cdr',
    metadata: new Map(),
  });
  let t = 1_700_000_000_000_000_000n;
  for (const [i, data] of messages.entries()) {
    await writer.addMessage({ channelId, sequence: i, logTime: t, publishTime: t, data });
    t += 1_000_000n;
  }
  await writer.end();
  writeFileSync(file, Buffer.concat(chunks));
}
