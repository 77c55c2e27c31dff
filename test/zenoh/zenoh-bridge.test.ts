import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { typeDescriptionHash } from '../../daemon/bus/type-hash.ts';
import { bagInfo } from '../../daemon/bags/index.ts';
import type { Daemon } from '../../daemon/daemon.ts';
import type { MessageCodec } from '../../daemon/bus/index.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { UNLIMITED_VELOCITY } from '../helpers/motion.ts';
import { tick, waitFor } from '../helpers/wait.ts';
import { useZenohNetwork } from './zenoh-network.ts';

const SCAN = 'sensor_msgs/msg/LaserScan';
const TWIST = 'geometry_msgs/msg/Twist';
const MSGS = resolve('test/fixtures/msgs/common_interfaces');

describe('the daemon on a real Zenoh network (router, zenoh-bridge-remote-api, rmw_zenoh-shaped Python peers)', () => {
  let daemon: Daemon;
  let codec: MessageCodec;
  let dataDir: string;
  let stopDaemon: () => Promise<void>;
  const zn = useZenohNetwork();
  const { peer } = zn;
  const zenohHealth = () => daemon.componentHealth().zenoh!; // as status shows it
  const details = () =>
    zenohHealth().details as {
      inbound: Record<string, Record<string, number>>;
      outbound: Record<string, Record<string, number>>;
      link: { zid: string };
    };

  beforeAll(async () => {
    ({
      daemon,
      codec,
      dir: dataDir,
      stop: stopDaemon,
    } = await startDaemon({
      bus: { definitions: { dirs: [MSGS] } },
      ...UNLIMITED_VELOCITY,
      recorder: { enabled: true, include: ['/scan', '/widget'], compression: 'none' },
      zenoh: {
        enabled: true,
        endpoint: zn.net.wsUrl,
        topics: ['/scan', '/cmd_vel'], // and /widget, which the recorder records (bridge_recorded)
        publish: ['/cmd_vel'],
        services: { call: ['/set_flag'] },
        history_settle_ms: 500,
      },
    }));
    dataDir = join(dataDir, 'data');
    await waitFor(() => zenohHealth().state === 'running', 'the Zenoh link to come up');
  });

  afterAll(async () => {
    await stopDaemon?.();
  });

  it("bridges a peer's LaserScan onto the bus byte for byte as it appears, records it, and drops it when the peer leaves", async () => {
    const hash = typeDescriptionHash(daemon.definitions, SCAN)!;
    const scans = [0, 1, 2].map((i) =>
      codec.encode(SCAN, { header: { frame_id: `laser${i}` }, angle_min: -1, angle_max: 1, ranges: [i, i + 0.5, 2] }),
    );
    const received: Uint8Array[] = [];
    const publishTimes: bigint[] = [];
    daemon.bus.subscribe({
      name: 'test',
      topic: '/scan',
      handler: (m) => void (received.push(m.data), publishTimes.push(m.publishTime)),
    });
    const lidar = await peer({ node: 'lidar_driver', publish: { topic: '/scan', type: SCAN, hash } });
    await waitFor(
      () => daemon.graph.endpoints({ name: '/scan', kind: 'publisher' }).length === 1,
      "the peer's publisher in the graph",
    );
    expect(daemon.graph.nodes().map((n) => n.name)).toContain('/lidar_driver');
    expect(daemon.graph.endpoints({ name: '/scan' })[0]).toMatchObject({
      type: SCAN,
      typeHash: hash,
      node: '/lidar_driver',
      local: false,
    });
    await waitFor(() => details().inbound['/scan'] !== undefined, 'the topic bridged');
    // A subscriber declared through the bridge may miss what is put at once: publish until one arrives.
    const warmup = Buffer.from(codec.encode(SCAN, { header: { frame_id: 'warmup' } })).toString('hex');
    await waitFor(() => (lidar.send(`pub ${warmup}`), received.length > 0), 'a first scan', 20_000);
    const hex = scans.map((d) => Buffer.from(d).toString('hex'));
    for (const scan of hex) lidar.send(`pub ${scan}`);
    const seen = () => received.map((d) => Buffer.from(d).toString('hex')).filter((d) => d !== warmup);
    await waitFor(() => seen().length >= 3, 'three scans on the bus');
    expect(seen()).toEqual(hex);
    // The publish time is the source timestamp the peer's attachment carried, not the bus's clock.
    expect(publishTimes.every((t) => t > 0n && t <= BigInt(Date.now()) * 1_000_000n)).toBe(true);

    await lidar.close();
    await waitFor(
      () => daemon.graph.endpoints({ name: '/scan' }).length === 0,
      "the peer's publisher gone from the graph",
    );
    await waitFor(() => details().inbound['/scan'] === undefined, 'the topic dropped');
    expect(daemon.bus.stats().find((s) => s.topic === '/scan')?.publishers).toBe(0);
  });

  it("publishes bus /cmd_vel to Zenoh with rmw_zenoh's key, attachment and liveliness tokens, and the peer sees the daemon's node", async () => {
    const hash = typeDescriptionHash(daemon.definitions, TWIST)!;
    const listener = await peer({
      node: 'base_controller',
      // A Jazzy subscriber announces its type's hash (with none it reads as Humble, whose key the daemon follows).
      subscribe: { topic: '/cmd_vel', type: TWIST, hash },
      liveliness: true,
    });
    const pub = daemon.bus.advertise('/cmd_vel', TWIST, { source: 'test' });
    const twist = (x: number) => codec.encode(TWIST, { linear: { x, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0.25 } });
    await waitFor(() => details().outbound['/cmd_vel'] !== undefined, "the daemon's /cmd_vel publisher");
    const zid = details().link.zid;
    const token = await listener.next(
      (e) => e.event === 'token' && String(e.key).includes('/MP/') && String(e.key).includes('%cmd_vel'),
      "the daemon's publisher token",
    );
    expect(String(token.key)).toMatch(
      new RegExp(
        `^@ros2_lv/0/${zid}/\\d+/\\d+/MP/%/%/auraison_edge/%cmd_vel/geometry_msgs::msg::dds_::Twist_/${hash}/::,10:,:,:,,$`,
      ),
    );
    await listener.next(
      (e) => e.event === 'token' && /\/NN\/%\/%\/auraison_edge$/.test(String(e.key)),
      "the daemon's node token",
    );

    const sent: { data: Uint8Array; publishTime: bigint }[] = [];
    await waitFor(
      () => (sent.push(pub.publish(twist(sent.length))), listener.events.some((e) => e.event === 'sample')),
      'a first sample at the peer',
    );
    for (let i = 0; i < 3; i++) sent.push(pub.publish(twist(1000 + i)));
    const finals = sent.slice(-3).map((s) => Buffer.from(s.data).toString('hex'));
    type Sample = {
      key: string;
      payload: string;
      attachment: { seq: number; ts: number; gid: string; length: number };
    };
    const samples = () => listener.events.filter((e) => e.event === 'sample') as unknown as Sample[];
    await waitFor(() => samples().some((s) => s.payload === finals[2]), 'the last sample at the peer');
    const last = samples().filter((s) => finals.includes(s.payload));
    expect(last.map((s) => s.payload)).toEqual(finals);
    expect(new Set(samples().map((s) => s.key))).toEqual(
      new Set([`0/cmd_vel/geometry_msgs::msg::dds_::Twist_/${hash}`]),
    );
    const seqs = samples().map((s) => s.attachment.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(last.map((s) => s.attachment.seq)).toEqual([seqs.at(-3), seqs.at(-3)! + 1, seqs.at(-3)! + 2]);
    expect(last.every((s) => s.attachment.length === 33 && s.attachment.gid.length === 32)).toBe(true);
    // The source timestamp is the bus message's publish time (ns; Python's JSON keeps it to float precision).
    expect(Math.abs(last[2]!.attachment.ts - Number(sent.at(-1)!.publishTime))).toBeLessThan(1e4);
    expect(details().outbound['/cmd_vel']!.echoesSkipped).toBe(0);
    pub.close();
  });

  it("never echoes: its own /cmd_vel does not come back onto the bus, and a peer's /cmd_vel is not sent back out", async () => {
    const hash = typeDescriptionHash(daemon.definitions, TWIST)!;
    const onBus: { hex: string; source: string }[] = [];
    daemon.bus.subscribe({
      name: 'test-echo',
      topic: '/cmd_vel',
      handler: (m) => void onBus.push({ hex: Buffer.from(m.data).toString('hex'), source: m.source }),
    });
    const teleop = await peer({ node: 'teleop', publish: { topic: '/cmd_vel', type: TWIST, hash } });
    await waitFor(() => details().inbound['/cmd_vel'] !== undefined, '/cmd_vel bridged in too');
    const fromPeer = Buffer.from(codec.encode(TWIST, { linear: { x: 7 } })).toString('hex');
    await waitFor(
      () => (teleop.send(`pub ${fromPeer}`), onBus.some((m) => m.hex === fromPeer)),
      "the peer's /cmd_vel on the bus",
    );
    const pub = daemon.bus.advertise('/cmd_vel', TWIST, { source: 'test' });
    const ours = [1, 2, 3].map((i) =>
      Buffer.from(pub.publish(codec.encode(TWIST, { linear: { x: 100 + i } })).data).toString('hex'),
    );
    // Each of ours came back and was dropped: one had it been taken would be on the bus within a turn.
    await waitFor(() => details().inbound['/cmd_vel']!.echoes! >= 3, 'our samples heard back and dropped');
    await tick();
    for (const hex of ours) expect(onBus.filter((m) => m.hex === hex)).toEqual([{ hex, source: 'test' }]);
    expect(onBus.filter((m) => m.hex === fromPeer).every((m) => m.source === 'zenoh')).toBe(true);
    expect(details().outbound['/cmd_vel']!.echoesSkipped).toBeGreaterThan(0);
    pub.close();
    await teleop.close();
  });

  it("answers a Python get of ai/inference/vla/<policy> with the bus query's reply, and an unknown policy with an error", async () => {
    const unserve = daemon.bus.serve('ai/inference/vla/pick', async (request) => ({
      encoding: 'application/json',
      payload: new TextEncoder().encode(
        JSON.stringify({
          actions: [[0.5, -0.25]],
          echo: JSON.parse(new TextDecoder().decode(request.payload)),
          encoding: request.encoding,
        }),
      ),
    }));
    try {
      const caller = await peer({
        get: { key: 'ai/inference/vla/pick', payload: JSON.stringify({ obs: [[1, 2, 3]] }) },
      });
      const { replies } = (await caller.next((e) => e.event === 'replies', 'the replies')) as unknown as {
        replies: { ok: boolean; payload: string; encoding: string }[];
      };
      expect(replies).toHaveLength(1);
      expect(replies[0]!.ok).toBe(true);
      expect(replies[0]!.encoding).toBe('application/json');
      expect(JSON.parse(replies[0]!.payload)).toEqual({
        actions: [[0.5, -0.25]],
        echo: { obs: [[1, 2, 3]] },
        encoding: 'application/json',
      });

      const lost = await peer({ get: { key: 'ai/inference/vla/nothing', payload: '{}' } });
      const none = (await lost.next((e) => e.event === 'replies', 'the replies')) as unknown as {
        replies: { ok: boolean; payload: string }[];
      };
      expect(none.replies).toHaveLength(1);
      expect(none.replies[0]!.ok).toBe(false);
      expect(JSON.parse(none.replies[0]!.payload)).toMatchObject({ code: 'no_queryable' });
    } finally {
      unserve();
    }
  });

  it('calls a ROS 2 service a peer serves over Zenoh as a bus query, with JSON in and out', async () => {
    const hash = typeDescriptionHash(daemon.definitions, 'std_srvs/srv/SetBool') ?? 'TypeHashNotSupported';
    const server = await peer({ node: 'flag_server', serve: { service: '/set_flag', hash } });
    await waitFor(() => daemon.bus.queryables().includes('/set_flag'), 'the service served on the bus');
    const reply = await daemon.bus.query('/set_flag', {
      encoding: 'application/json',
      payload: new TextEncoder().encode('{"data": true}'),
    });
    expect(JSON.parse(new TextDecoder().decode(reply.payload))).toEqual({ success: true, message: 'ok:1' });
    const served = await server.next((e) => e.event === 'served', 'the request at the server');
    expect(served).toMatchObject({ data: 1, attachment: { seq: 1 } });
    await server.close();
    await waitFor(() => !daemon.bus.queryables().includes('/set_flag'), 'the service gone with its server');
  });

  it('counts garbage and wrong-type samples under a known key and goes on delivering the good ones', async () => {
    const hash = typeDescriptionHash(daemon.definitions, SCAN)!;
    const good = codec.encode(SCAN, { header: { frame_id: 'ok' }, ranges: [1, 2, 3] });
    const wrongType = codec.encode('std_msgs/msg/String', { data: 'not a scan' });
    const received: Uint8Array[] = [];
    daemon.bus.subscribe({ name: 'test-garbage', topic: '/scan', handler: (m) => void received.push(m.data) });
    const bad = await peer({ node: 'bad_lidar', publish: { topic: '/scan', type: SCAN, hash } });
    await waitFor(() => details().inbound['/scan'] !== undefined, 'the topic bridged again');
    await waitFor(
      () => (bad.send(`pub ${Buffer.from(good).toString('hex')}`), received.length > 0),
      'a first good scan',
      20_000,
    );
    const counters = () => details().inbound['/scan']!;
    const { malformed } = counters();
    bad.send('pub deadbeef');
    bad.send(`pub ${Buffer.from(wrongType).toString('hex')}`);
    bad.send(`pub ${Buffer.from(good).toString('hex')}`);
    const goodBefore = received.length;
    // Good scans the loop above sent may still be on their way: wait for the two bad ones to be counted too.
    await waitFor(
      () => counters().malformed >= malformed + 2 && received.length > goodBefore,
      'the bad ones counted and a good scan after them',
    );
    expect(counters().malformed).toBe(malformed + 2);
    expect(received.every((d) => Buffer.from(d).equals(Buffer.from(good)))).toBe(true);
    expect(zenohHealth().state).toBe('running');
    await bad.close();
  });

  it('bridges a type no definition here knows, as raw CDR under its name', async () => {
    const widget = await peer({
      node: 'widget_maker',
      publish: { topic: '/widget', type: 'acme_msgs/msg/Widget', hash: 'TypeHashNotSupported' },
    });
    const received: string[] = [];
    await waitFor(() => daemon.bus.topicType('/widget') === 'acme_msgs/msg/Widget', 'the topic on the bus');
    daemon.bus.subscribe({
      name: 'test-widget',
      topic: '/widget',
      handler: (m) => void received.push(Buffer.from(m.data).toString('hex')),
    });
    await waitFor(() => (widget.send('pub 000100002a000000'), received.length >= 2), 'widgets on the bus');
    expect(new Set(received)).toEqual(new Set(['000100002a000000']));
  });

  it('recorded what it bridged: bag info shows the topic with its type and every message that reached the bus', async () => {
    const count = daemon.bus.stats().find((s) => s.topic === '/scan')!.count;
    expect(count).toBeGreaterThan(0);
    const widgets = daemon.bus.stats().find((s) => s.topic === '/widget')!.count;
    await daemon.close();
    const bags = join(dataDir, 'bags');
    const info = await bagInfo(join(bags, readdirSync(bags)[0]!));
    expect(info.topics.find((t) => t.name === '/scan')).toMatchObject({ type: SCAN, count });
    expect(info.topics.find((t) => t.name === '/widget')).toMatchObject({
      type: 'acme_msgs/msg/Widget',
      count: widgets,
    });
  });
});
