// `auraison-edge bag snapshot` against a daemon that runs the snapshot buffer with the recorder off (a robot
// that records nothing all the time): the CLI finds the API through <data_dir>/run/api.json, the snapshot bag
// is a bag to `bag info`, and its messages are in `auraison-edge query` when the command returns. The snapshot
// is its own component: changing recorder.snapshot restarts it alone, and turning the recorder on leaves it be.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { API, FOXGLOVE } from '../../daemon/components/api.ts';
import { BAGS_COMPONENTS } from '../../daemon/components/bags.ts';
import { parseConfigText } from '../../daemon/config/load.ts';
import { PORTS } from '../../daemon/contract/index.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { Lakehouse } from '../../daemon/lakehouse/lakehouse.ts';
import type { ComponentSpec } from '../../daemon/lifecycle/component.ts';
import { fsSegmentIO } from '../../daemon/recorder/segment-io.ts';
import { Snapshotter } from '../../daemon/recorder/snapshot.ts';
import { SNAPSHOT_STAGING } from '../../daemon/recorder/snapshot-writer.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { running } from '../helpers/daemon.ts';

const work = tempDir('snapshot-daemon-');
afterAll(() => work.cleanup());

describe('bag snapshot on a running daemon', () => {
  it(
    'writes the buffered window to a bag, indexed and queryable, with recorder.enabled false',
    { timeout: 60_000 },
    async () => {
      const configFile = join(work.path, 'edge.yaml');
      const yaml = (snapshot: string, recorder = 'false') =>
        [
          `data_dir: ${join(work.path, 'data')}`,
          `recorder: {enabled: ${recorder}, snapshot: ${snapshot}}`,
          'retention: {enabled: false}',
          'api: {port: 0}',
          'foxglove: {enabled: false}',
        ].join('\n');
      const config = (text: string) => {
        writeFileSync(configFile, text);
        return parseConfigText(text, configFile);
      };
      const daemon = new Daemon({
        config: config(yaml('{enabled: true, include: ["/chatter", "/map_name"]}')),
        log: pino({ level: 'silent' }),
        cwd: work.path,
        specs: [...BAGS_COMPONENTS, API, FOXGLOVE],
      });
      await daemon.start();
      try {
        expect(daemon.components.has('recorder')).toBe(false);
        const codec = new MessageCodec(daemon.definitions);
        const text = (s: string) => codec.encode('std_msgs/msg/String', { data: s });
        daemon.bus
          .advertise('/map_name', 'std_msgs/msg/String', { source: 'test', qos: { durability: 'transient_local' } })
          .publish(text('map'));
        const chatter = daemon.bus.advertise('/chatter', 'std_msgs/msg/String', { source: 'test' });
        const other = daemon.bus.advertise('/other', 'std_msgs/msg/String', { source: 'test' });
        for (let i = 0; i < 40; i++) {
          chatter.publish(text(`c${i}`));
          other.publish(text('not selected'));
        }
        const cli = await runMain(['bag', 'snapshot', '--config', configFile], { cwd: work.path });
        expect(cli.stderr).toBe('');
        expect(cli.code).toBe(0);
        const bag =
          /^wrote (data\/bags\/snapshot_[\d_-]+): 41 message\(s\) over \d+\.\d s, from \S+Z\n {2}\/chatter: 40\n {2}\/map_name: 1\nindexed: its messages are in `auraison-edge query` now\n$/.exec(
            cli.stdout,
          )?.[1];
        expect(bag, cli.stdout).toBeDefined();

        const query = await runMain(
          [
            'query',
            'SELECT topic, count(*)::INTEGER FROM messages GROUP BY topic ORDER BY topic',
            '--json',
            '--config',
            configFile,
          ],
          { cwd: work.path },
        );
        expect(JSON.parse(query.stdout).rows).toEqual([
          ['/chatter', 40],
          ['/map_name', 1],
        ]);
        const info = await runMain(['bag', 'info', bag!, '--json'], { cwd: work.path });
        expect(JSON.parse(info.stdout)).toMatchObject({
          messageCount: 41,
          storage: 'mcap',
          source: 'metadata',
          warnings: [],
        });

        // A second one, through the bus query the robot's other processes use: the same window (not emptied).
        const reply = await daemon.bus.query('recorder/snapshot', {
          encoding: 'application/json',
          payload: new Uint8Array(),
        });
        expect(JSON.parse(new TextDecoder().decode(reply.payload))).toMatchObject({
          snapshot: { messages: 41, topics: { '/chatter': 40, '/map_name': 1 } },
        });
        const json = await runMain(['bag', 'snapshot', '--json', '--no-wait', '--config', configFile], {
          cwd: work.path,
        });
        expect(JSON.parse(json.stdout)).toMatchObject({
          snapshot: { messages: 41, joined: false, bag: expect.stringContaining('/data/bags/snapshot_') },
          indexing: { state: 'not_waited' },
        });

        // recorder.snapshot is the snapshot component's alone, and the recorder's switch is not its.
        const recorderOn = await daemon.reload(
          config(yaml('{enabled: true, include: ["/chatter", "/map_name"]}', 'true')),
        );
        expect(recorderOn).toContain('recorder');
        expect(recorderOn).not.toContain('snapshot');
        expect(
          await daemon.reload(
            config(yaml('{enabled: true, max_duration_s: 5, include: ["/chatter", "/map_name"]}', 'true')),
          ),
        ).toEqual(['snapshot']);
        expect(await daemon.reload(config(yaml('{enabled: false}')))).toContain('snapshot');
        const off = await runMain(['bag', 'snapshot', '--config', configFile], { cwd: work.path });
        expect(off.code).toBe(1);
        expect(off.stderr).toBe(
          'auraison-edge bag snapshot: the snapshot buffer is unavailable: component snapshot is not running (not enabled in the config): set recorder.snapshot.enabled: true (and reload the daemon)\n',
        );
      } finally {
        await daemon.close();
      }
    },
  );

  it(
    "retention leaves the snapshot bag being written alone, as the recorder's open bag",
    { timeout: 60_000 },
    async () => {
      const dir = join(work.path, 'retention');
      // Retention over max_bytes deletes any split not indexed (index_recordings false), oldest first.
      const text = [
        `data_dir: ${join(dir, 'data')}`,
        'recorder: {snapshot: {enabled: true}}',
        'lakehouse: {index_recordings: false}',
        'retention: {max_bytes: 1, check_interval_s: 0.1}',
      ].join('\n');
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let writes = 0;
      // The split's header lands; what follows waits: the snapshot is being written until released.
      const io = {
        ...fsSegmentIO,
        create: async (path: string) => {
          const file = await fsSegmentIO.create(path);
          return {
            ...file,
            writev: async (pieces: readonly Uint8Array[], at: bigint) => (
              writes++ > 0 && (await gate),
              file.writev(pieces, at)
            ),
            sync: () => file.sync(),
            close: () => file.close(),
          };
        },
      };
      const bags = BAGS_COMPONENTS.find((c) => c.name === 'lakehouse')!;
      const snapshot: ComponentSpec = {
        ...BAGS_COMPONENTS.find((c) => c.name === 'snapshot')!,
        create: (ctx) => {
          const snapshotter = new Snapshotter({
            bus: ctx.bus,
            definitions: ctx.definitions,
            log: ctx.log,
            bagsDir: join(ctx.dataDir, 'bags'),
            settings: ctx.config.recorder.snapshot,
            writing: { ...ctx.config.recorder, chunk_size_bytes: 1024 },
            io,
          });
          ctx.provide(PORTS.snapshot, snapshotter);
          ctx.provide(PORTS.recording, snapshotter);
          return snapshotter;
        },
      };
      const daemon = new Daemon({
        config: parseConfigText(text, 'edge.yaml'),
        log: pino({ level: 'silent' }),
        cwd: work.path,
        specs: [bags, snapshot],
      });
      await daemon.start();
      try {
        const codec = new MessageCodec(daemon.definitions);
        const chatter = daemon.bus.advertise('/chatter', 'std_msgs/msg/String', { source: 'test' });
        for (let i = 0; i < 50; i++)
          chatter.publish(codec.encode('std_msgs/msg/String', { data: `m${i}`.padEnd(100) }));
        const taken = running(daemon, Snapshotter)!.snapshot();
        taken.catch(() => undefined); // awaited below, once released
        const staging = join(dir, 'data', 'bags', SNAPSHOT_STAGING);
        await waitFor(() => writes > 1, 'the snapshot to wait on the disk');
        const [name] = readdirSync(staging);
        const split = join(staging, name!, `${name}_0.mcap`);
        // Passes run while it is written: each sees the split, over max_bytes, and must leave it.
        const lakehouse = running(daemon, Lakehouse)!;
        const measured = () => lakehouse.metrics().find((m) => m.name === 'auraison_data_bytes')!.samples[0]!.value;
        await waitFor(
          () => measured() > 0 || !existsSync(split),
          'a retention pass that counts the split being written',
        );
        await lakehouse.idle();
        expect(existsSync(split)).toBe(true);
        release();
        expect(await taken).toMatchObject({ messages: 50 });
      } finally {
        release();
        await daemon.close();
      }
    },
  );
});
