import { parse } from '@foxglove/rosmsg';
import { MessageReader } from '@foxglove/rosmsg2-serialization';
import wsProtocol, { type Channel, type MessageData, type StatusMessage } from '@foxglove/ws-protocol';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { waitFor } from '../helpers/wait.ts';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { parseConfigText } from '../../daemon/config/load.ts';
import { policyHooks } from '../../daemon/policy/hooks.ts';
import type { PolicyHook } from '../../daemon/contract/policy-hook.ts';
import type { Component } from '../../daemon/lifecycle/component.ts';
import { EVENTS_TOPIC, FoxgloveBridge, type FoxgloveBridgeOptions } from '../../daemon/foxglove/foxglove-bridge.ts';
import { MemoryJournal } from './fakes/memory-journal.ts';
import { startHarness, type Harness, type HarnessOptions } from './harness.ts';

const { FoxgloveClient } = wsProtocol;
type Client = InstanceType<typeof FoxgloveClient>;

let h: Harness | undefined;
let bridge: FoxgloveBridge | undefined;
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  await bridge?.stop();
  bridge = undefined;
  await h?.close();
  h = undefined;
});

async function start(options: HarnessOptions = {}, bridgeOptions: FoxgloveBridgeOptions = {}): Promise<{ h: Harness; bridge: FoxgloveBridge; codec: MessageCodec }> {
  h = await startHarness({ startApi: false, ...options });
  bridge = new FoxgloveBridge(h.ctx, h.ctx.config.foxglove, bridgeOptions);
  await bridge.start();
  h.components.set('foxglove', bridge);
  return { h, bridge, codec: new MessageCodec(h.definitions) };
}

/** A Foxglove client (ws-protocol's own) that records what it receives. */
function connectClient(url: string) {
  const ws = new WebSocket(url, [FoxgloveClient.SUPPORTED_SUBPROTOCOL]);
  sockets.push(ws);
  const client: Client = new FoxgloveClient({ ws: ws as unknown as ConstructorParameters<typeof FoxgloveClient>[0]['ws'] });
  const channels = new Map<string, Channel>();
  const messages: MessageData[] = [];
  const statuses: StatusMessage[] = [];
  const info: { capabilities: string[] } = { capabilities: [] };
  client.on('serverInfo', (s) => (info.capabilities = s.capabilities));
  client.on('advertise', (list) => list.forEach((c) => channels.set(c.topic, c)));
  client.on('message', (m) => messages.push(m));
  client.on('status', (s) => statuses.push(s));
  return { ws, client, channels, messages, statuses, info };
}


/**
 * Resolves once the server has handled every frame this client sent before: a WebSocket ping is read after
 * them and answered (pong) only then. What a test waits on instead of a sleep, which a loaded machine outlasts.
 */
function serverHasRead(c: { ws: WebSocket }): Promise<void> {
  return new Promise((resolve) => {
    c.ws.once('pong', () => resolve());
    c.ws.ping();
  });
}

const scan = (i: number) => ({
  header: { stamp: { sec: 100 + i, nanosec: 0 }, frame_id: 'base_scan' },
  angle_min: 0,
  angle_max: Math.PI * 2,
  angle_increment: Math.PI / 180,
  time_increment: 0,
  scan_time: 0.2,
  range_min: 0.12,
  range_max: 3.5,
  ranges: Float32Array.from({ length: 360 }, (_, k) => 1 + ((k + i) % 10) / 10),
  intensities: new Float32Array(0),
});

describe('the Foxglove WebSocket server', () => {
  it('advertises /scan with its ros2msg schema, and a client decodes the CDR it streams', async () => {
    const { h, bridge, codec } = await start();
    const pub = h.bus.advertise('/scan', 'sensor_msgs/msg/LaserScan', { source: 'sim' });
    const c = connectClient(bridge.url!);
    await waitFor(() => c.channels.has('/scan'), 'the /scan advertisement');
    const channel = c.channels.get('/scan')!;
    expect(channel).toMatchObject({ encoding: 'cdr', schemaName: 'sensor_msgs/msg/LaserScan', schemaEncoding: 'ros2msg' });
    expect(c.channels.get(EVENTS_TOPIC)?.encoding).toBe('json');
    const subId = c.client.subscribe(channel.id);
    await waitFor(() => h.bus.stats().find((t) => t.topic === '/scan')!.subscribers === 1, 'the bus subscription');
    for (let i = 0; i < 3; i++) pub.publish(codec.encode('sensor_msgs/msg/LaserScan', scan(i)));
    await waitFor(() => c.messages.length >= 3, 'three scans');

    // Decode with only what the client was sent: the schema text and the bytes (what Foxglove does).
    const reader = new MessageReader(parse(channel.schema, { ros2: true }));
    const decoded = c.messages.map((m) => reader.readMessage<ReturnType<typeof scan>>(m.data));
    expect(c.messages.every((m) => m.subscriptionId === subId)).toBe(true);
    expect(decoded.map((d) => d.header.stamp.sec)).toEqual([100, 101, 102]);
    expect(decoded[1]!.header.frame_id).toBe('base_scan');
    expect(Array.from(decoded[2]!.ranges)).toEqual(Array.from(scan(2).ranges));

    c.client.unsubscribe(subId);
    await waitFor(() => h.bus.stats().find((t) => t.topic === '/scan')!.subscribers === 0, 'the bus subscription to end');
  });

  it('advertises topics that appear later, and skips types with no definition (reported in health)', async () => {
    const { h, bridge } = await start();
    const c = connectClient(bridge.url!);
    await waitFor(() => c.channels.has(EVENTS_TOPIC), 'the first advertisement');
    h.bus.advertise('/odom', 'nav_msgs/msg/Odometry', { source: 'sim' });
    h.bus.advertise('/mystery', 'acme_msgs/msg/Widget', { source: 'sim' });
    await waitFor(() => c.channels.has('/odom'), 'the late /odom');
    expect(c.channels.has('/mystery')).toBe(false);
    expect(bridge.health().details?.unadvertisable).toEqual(['/mystery']);
  });

  it('gives a latched /map to every client, also those that subscribe after the first', async () => {
    const { h, bridge, codec } = await start();
    const map = h.bus.advertise('/map', 'nav_msgs/msg/OccupancyGrid', { source: 'sim', qos: { durability: 'transient_local', depth: 1 } });
    map.publish(
      codec.encode('nav_msgs/msg/OccupancyGrid', {
        header: { stamp: { sec: 0, nanosec: 0 }, frame_id: 'map' },
        info: { map_load_time: { sec: 0, nanosec: 0 }, resolution: 0.05, width: 2, height: 2, origin: { position: { x: 0, y: 0, z: 0 }, orientation: { x: 0, y: 0, z: 0, w: 1 } } },
        data: Int8Array.from([0, 100, -1, 0]),
      }),
    );
    const a = connectClient(bridge.url!);
    await waitFor(() => a.channels.has('/map'), '/map advertised');
    a.client.subscribe(a.channels.get('/map')!.id);
    await waitFor(() => a.messages.length === 1, 'the map for the first client');
    const b = connectClient(bridge.url!);
    await waitFor(() => b.channels.has('/map'), '/map advertised to the second');
    const subId = b.client.subscribe(b.channels.get('/map')!.id);
    await waitFor(() => b.messages.length === 1, 'the map for the second client');
    expect(b.messages[0]!.subscriptionId).toBe(subId);
    const data = b.messages[0]!.data;
    const grid = codec.decode<{ data: Int8Array }>('nav_msgs/msg/OccupancyGrid', new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength));
    expect(Array.from(grid.data)).toEqual([0, 100, -1, 0]);
    expect(a.messages.length).toBe(1);
  });

  it('survives a client that sends `null` or a subscription that is not an object, and serves the next one', async () => {
    const { h, bridge, codec } = await start();
    const map = h.bus.advertise('/map', 'nav_msgs/msg/OccupancyGrid', { source: 'sim', qos: { durability: 'transient_local', depth: 1 } });
    map.publish(codec.encode('nav_msgs/msg/OccupancyGrid', { header: { stamp: { sec: 0, nanosec: 0 }, frame_id: 'map' }, info: { map_load_time: { sec: 0, nanosec: 0 }, resolution: 0.05, width: 1, height: 1, origin: { position: { x: 0, y: 0, z: 0 }, orientation: { x: 0, y: 0, z: 0, w: 1 } } }, data: Int8Array.from([7]) }));
    const a = connectClient(bridge.url!);
    await waitFor(() => a.channels.has('/map'), '/map advertised');
    a.client.subscribe(a.channels.get('/map')!.id); // /map is now watched: a later subscribe goes through the latched replay
    await waitFor(() => a.messages.length === 1, 'the map for the first client');
    const rogue = connectClient(bridge.url!);
    await waitFor(() => rogue.channels.has('/map'), '/map advertised to the rogue client');
    for (const frame of ['null', '{"op":"subscribe","subscriptions":[null]}', '{"op":"subscribe","subscriptions":[{"id":"x","channelId":{}}]}']) rogue.ws.send(frame);
    const b = connectClient(bridge.url!);
    await waitFor(() => b.channels.has('/map'), '/map advertised to the next client');
    b.client.subscribe(b.channels.get('/map')!.id);
    await waitFor(() => b.messages.length === 1, 'the map for the next client');
    expect(bridge.health().state).not.toBe('failed');
  });

  it('tells a client what was wrong with each frame it sent that the protocol does not allow (an error status)', async () => {
    let now = 0;
    h = await startHarness({ startApi: false, foxglove: { client_publish: { enabled: true } } });
    bridge = new FoxgloveBridge(h.ctx, h.ctx.config.foxglove, { now: () => now });
    await bridge.start();
    const c = connectClient(bridge.url!);
    await waitFor(() => c.info.capabilities.length > 0, 'server info');
    const frames: [string | Uint8Array, string | RegExp][] = [
      ['garbage', /^text frame is not JSON: /],
      ['[1]', 'text frame is not a JSON object with an "op", got an array'],
      ['{"op":"dance"}', 'unknown op "dance" (this server takes subscribe, unsubscribe, advertise, unadvertise)'],
      ['{"op":"subscribe"}', 'subscribe: "subscriptions" must be a list of {id, channelId} objects'],
      ['{"op":"advertise"}', 'advertise: "channels" must be a list of {id, topic, encoding, schemaName} objects'],
      ['{"op":"advertise","channels":[null]}', 'advertise: channels[0] must be one of {id, topic, encoding, schemaName} objects'],
      ['{"op":"advertise","channels":[{"id":5}]}', 'advertise: a channel needs id (a number), topic, encoding and schemaName (strings)'],
      ['{"op":"getParameters","parameterNames":[]}', 'getParameters is not supported by this daemon'],
      [Uint8Array.of(1, 99, 0, 0, 0, 7), 'message data on channel 99, which this client has not advertised (advertise it first)'],
      [Uint8Array.of(1, 2, 3), 'message data frame of 3 bytes is shorter than its 5-byte header (opcode, channel id)'],
      [Uint8Array.of(2, 1), 'service call request frame of 2 bytes is shorter than its 13-byte header (opcode, service id, call id, encoding length)'],
      [new Uint8Array(0), 'empty binary frame'],
      [Uint8Array.of(9, 0), 'binary frame with opcode 9, which the protocol does not define for clients (1 is message data)'],
    ];
    for (const [i, [frame]] of frames.entries()) {
      now += 1000; // a second apart: the statuses are throttled to ten a second
      c.ws.send(frame);
      await waitFor(() => c.statuses.length === i + 1, `the status for frame ${i + 1}`);
    }
    for (const [i, [, problem]] of frames.entries()) expect(c.statuses[i]!.message).toMatch(problem);
    expect(c.statuses.every((st) => st.level === wsProtocol.StatusLevel.ERROR)).toBe(true);
    // It is still served.
    h.bus.advertise('/odom', 'nav_msgs/msg/Odometry', { source: 'sim' });
    await waitFor(() => c.channels.has('/odom'), '/odom advertised after the bad frames');
  });

  it('tells a client that advertises while client publishing is off why nothing happens', async () => {
    const { bridge } = await start();
    const c = connectClient(bridge.url!);
    await waitFor(() => c.channels.has(EVENTS_TOPIC), 'the first advertisement');
    c.client.advertise({ topic: '/cmd_vel', encoding: 'cdr', schemaName: 'geometry_msgs/msg/Twist' });
    await waitFor(() => c.statuses.length === 1, 'the status');
    expect(c.statuses[0]!.message).toBe('advertise: client publishing is off on this daemon (foxglove.client_publish.enabled)');
  });

  it('throttles what a flood of bad frames makes the daemon say: ten statuses a second to the client, a log line per 10 s', async () => {
    let now = 0;
    const lines: { msg: string; client?: string; problem?: string; suppressed?: number }[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    h = await startHarness({ startApi: false });
    bridge = new FoxgloveBridge({ ...h.ctx, log }, h.ctx.config.foxglove, { now: () => now });
    await bridge.start();
    const c = connectClient(bridge.url!);
    await waitFor(() => c.channels.has(EVENTS_TOPIC), 'the first advertisement');
    const bad = () => lines.filter((l) => l.msg === 'foxglove client frame refused');
    // The protocol server answers a subscription to an unknown channel itself: a marker that all before it was handled.
    const handled = async (marker: number) => {
      c.ws.send(JSON.stringify({ op: 'subscribe', subscriptions: [{ id: marker, channelId: 10_000 + marker }] }));
      await waitFor(() => c.statuses.some((st) => st.message.includes(`Channel ${10_000 + marker} `)), `marker ${marker}`);
    };

    for (let i = 0; i < 50; i++) c.ws.send('garbage');
    await handled(1);
    expect(c.statuses.filter((st) => st.message.startsWith('text frame is not JSON'))).toHaveLength(10);
    expect(bad()).toHaveLength(1);
    expect(bad()[0]).toMatchObject({ problem: expect.stringMatching(/^text frame is not JSON/) });
    expect(bad()[0]!.suppressed).toBeUndefined();

    now += 10_000;
    c.ws.send('{"op":"dance"}');
    c.ws.send('garbage');
    c.ws.send('garbage');
    await handled(2);
    const ours = c.statuses.filter((st) => !st.message.startsWith('Channel '));
    expect(ours.slice(10).map((st) => st.message)).toEqual([
      'unknown op "dance" (this server takes subscribe, unsubscribe, advertise, unadvertise) (and 40 more problems not reported since the last status)',
      expect.stringMatching(/^text frame is not JSON/),
      expect.stringMatching(/^text frame is not JSON/),
    ]);
    expect(bad()).toHaveLength(2);
    expect(bad()[1]).toMatchObject({ problem: expect.stringMatching(/^unknown op "dance"/), suppressed: 49 });

    // What was held back when the client leaves is still counted in the log.
    c.ws.close();
    await waitFor(() => lines.some((l) => l.msg === 'foxglove client left; its last refused frames were not logged'), 'the closing count');
    expect(lines.find((l) => l.msg === 'foxglove client left; its last refused frames were not logged')).toMatchObject({ suppressed: 2 });
  });

  it('streams the journal (runs, agent events) as JSON on /auraison/events', async () => {
    const journal = new MemoryJournal();
    const { bridge } = await start({ journal });
    const c = connectClient(bridge.url!);
    await waitFor(() => c.channels.has(EVENTS_TOPIC), 'the events channel');
    c.client.subscribe(c.channels.get(EVENTS_TOPIC)!.id);
    await serverHasRead(c); // the subscription is in place before the record is appended
    await journal.append('agent_event', { kind: 'run.status', payload: { status: 'running' } });
    await waitFor(() => c.messages.length === 1, 'the event');
    const record = JSON.parse(new TextDecoder().decode(c.messages[0]!.data as DataView)) as { seq: number; kind: string };
    expect(record).toMatchObject({ seq: 1, kind: 'agent_event' });
  });

  it('drops messages for a client that stops reading, instead of buffering them', async () => {
    const { h, bridge } = await start({ foxglove: { max_buffered_bytes: 64 * 1024 } });
    const pub = h.bus.advertise('/camera/image_raw', 'sensor_msgs/msg/Image', { source: 'sim' });
    const c = connectClient(bridge.url!);
    await waitFor(() => c.channels.has('/camera/image_raw'), 'the image channel');
    c.client.subscribe(c.channels.get('/camera/image_raw')!.id);
    await waitFor(() => h.bus.stats().find((t) => t.topic === '/camera/image_raw')!.subscribers === 1, 'the bus subscription');
    const raw = (c.ws as unknown as { _socket: import('node:net').Socket })._socket;
    raw.pause();
    const frame = new Uint8Array(256 * 1024); // not valid CDR, and it need not be: bytes pass through
    for (let i = 0; i < 200; i++) {
      pub.publish(frame); // 50 MB in all
      if (i % 10 === 0) await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => (bridge.health().details?.dropped as number) > 0, 'drops');
    const dropped = bridge.metrics().find((f) => f.name === 'auraison_foxglove_dropped_total')!.samples[0]!.value;
    expect(dropped).toBeGreaterThan(100);
    raw.resume();
  });
});

describe('client publishing', () => {
  const twist = (x: number, z = 0) => ({ linear: { x, y: 0, z: 0 }, angular: { x: 0, y: 0, z } });
  type Twist = ReturnType<typeof twist>;
  const limits: PolicyHook = {
    name: 'teleop_limits',
    beforeToolCall(ctx, input) {
      const { topic, fields: message } = input as { topic: string; fields: Twist };
      if (ctx.tool !== 'publish' || topic !== '/cmd_vel') return { action: 'allow' };
      if (Math.abs(message.angular.z) > 2) return { action: 'deny', rule: 'max_turn_rate', reason: `angular.z ${message.angular.z} > 2 rad/s` };
      if (message.linear.x > 0.5) return { action: 'rewrite', rule: 'max_speed', reason: 'clamped to 0.5 m/s', value: { ...(input as object), fields: { ...message, linear: { ...message.linear, x: 0.5 } } } };
      return { action: 'allow' };
    },
  };
  const hooksAgent: Component & { policyHooks(): PolicyHook[] } = {
    name: 'agent',
    start: async () => {},
    stop: async () => {},
    health: () => ({ state: 'running' }),
    policyHooks: () => [limits],
  };

  /** A bridge with client publishing on (and `clientPublish` settings), a client, and what reaches /cmd_vel. */
  async function publishing(withHooks: boolean, clientPublish: NonNullable<HarnessOptions['foxglove']>['client_publish'] = {}, bridgeOptions: FoxgloveBridgeOptions = {}) {
    const started = await start({ foxglove: { client_publish: { enabled: true, ...clientPublish } }, components: withHooks ? [hooksAgent] : [] }, bridgeOptions);
    const received: Twist[] = [];
    started.h.bus.subscribe({ name: 'base', topic: '/cmd_vel', handler: (m) => void received.push(started.codec.decode<Twist>(m.type, m.data)) });
    const c = connectClient(started.bridge.url!);
    await waitFor(() => c.info.capabilities.length > 0, 'server info');
    return { ...started, c, received };
  }

  it('publishes /cmd_vel from a client through the policy hooks: allowed, rewritten, denied', async () => {
    const { c, codec, received } = await publishing(true);
    expect(c.info.capabilities).toContain('clientPublish');
    const channel = c.client.advertise({ topic: '/cmd_vel', encoding: 'cdr', schemaName: 'geometry_msgs/msg/Twist' });
    await serverHasRead(c);
    c.client.sendMessage(channel, codec.encode('geometry_msgs/msg/Twist', twist(0.2)));
    c.client.sendMessage(channel, codec.encode('geometry_msgs/msg/Twist', twist(3)));
    c.client.sendMessage(channel, codec.encode('geometry_msgs/msg/Twist', twist(0.1, 5)));
    await waitFor(() => received.length === 2 && c.statuses.length === 1, 'two published, one denied');
    expect(received.map((t) => t.linear.x)).toEqual([0.2, 0.5]);
    expect(c.statuses[0]!.message).toContain('max_turn_rate');
  });

  it('applies the daemon\'s own policy hooks (policy.velocity clamps a teleop /cmd_vel like an agent\'s)', async () => {
    const base = parseConfigText('', 'test.yaml');
    const agent = { ...hooksAgent, policyHooks: () => policyHooks(base.policy) };
    const started = await start({ foxglove: { client_publish: { enabled: true } }, components: [agent] });
    started.h.bus.advertise('/cmd_vel', 'geometry_msgs/msg/Twist', { source: 'sim' }).close();
    const received: Twist[] = [];
    started.h.bus.subscribe({ name: 'base', topic: '/cmd_vel', handler: (m) => void received.push(started.codec.decode<Twist>(m.type, m.data)) });
    const c = connectClient(started.bridge.url!);
    await waitFor(() => c.info.capabilities.length > 0, 'server info');
    const channel = c.client.advertise({ topic: '/cmd_vel', encoding: 'cdr', schemaName: 'geometry_msgs/msg/Twist' });
    await serverHasRead(c);
    c.client.sendMessage(channel, started.codec.encode('geometry_msgs/msg/Twist', twist(1.5, 0.3)));
    await waitFor(() => received.length === 1, 'the clamped command');
    expect(received[0]!.linear.x).toBeCloseTo(base.policy.velocity.max_linear_x);
    expect(received[0]!.angular.z).toBeCloseTo(0.3);
  });

  const publishCount = (bridge: FoxgloveBridge, outcome: string): number | undefined =>
    bridge.metrics().find((f) => f.name === 'auraison_foxglove_client_publish_total')?.samples.find((s) => s.labels?.outcome === outcome)?.value;

  it('caps the messages a client has waiting for the hooks: the rest are dropped and counted, not queued', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const slow: PolicyHook = { name: 'slow', beforeToolCall: async () => (await held, { action: 'allow' }) };
    const agent = { ...hooksAgent, policyHooks: () => [slow] };
    const started = await start({ foxglove: { client_publish: { enabled: true, max_pending: 4 } }, components: [agent] });
    const received: Twist[] = [];
    started.h.bus.subscribe({ name: 'base', topic: '/cmd_vel', handler: (m) => void received.push(started.codec.decode<Twist>(m.type, m.data)) });
    const c = connectClient(started.bridge.url!);
    await waitFor(() => c.info.capabilities.length > 0, 'server info');
    const channel = c.client.advertise({ topic: '/cmd_vel', encoding: 'cdr', schemaName: 'geometry_msgs/msg/Twist' });
    await serverHasRead(c);
    for (let i = 0; i < 50; i++) c.client.sendMessage(channel, started.codec.encode('geometry_msgs/msg/Twist', twist(i / 100)));
    // The status that tells the client reaches it over the socket after the bridge has counted the drops.
    const capped = () => c.statuses.filter((st) => st.message.includes('max_pending'));
    await waitFor(() => publishCount(started.bridge, 'dropped') === 46 && capped().length > 0, '46 messages dropped, and the client told');
    expect(capped()).toHaveLength(1);
    // A stop is queued past the cap: dropping it would leave the last command in force.
    c.client.sendMessage(channel, started.codec.encode('geometry_msgs/msg/Twist', twist(0)));
    await serverHasRead(c); // the stop is queued while the hooks still hold the four
    release();
    await waitFor(() => received.length === 5, 'the four queued messages and the stop');
    expect(received.map((t) => t.linear.x)).toEqual([0, 0.01, 0.02, 0.03, 0]);
    expect(publishCount(started.bridge, 'published')).toBe(5);
    expect(publishCount(started.bridge, 'dropped')).toBe(46);
  });

  it('limits a client to foxglove.client_publish.max_rate_hz, and a stop (zero Twist) always goes through', async () => {
    let now = 0;
    const { bridge, c, codec, received } = await publishing(true, { max_rate_hz: 5 }, { now: () => now });
    const channel = c.client.advertise({ topic: '/cmd_vel', encoding: 'cdr', schemaName: 'geometry_msgs/msg/Twist' });
    await serverHasRead(c);
    const send = (...xs: number[]) => xs.forEach((x) => c.client.sendMessage(channel, codec.encode('geometry_msgs/msg/Twist', twist(x))));

    const over = Array.from({ length: 12 }, () => 0.3);
    send(0.1, 0.1, 0.1, 0.1, 0.1, ...over.slice(0, 6), 0, ...over.slice(6), 0, 0);
    await waitFor(() => received.length === 8, 'five commands and three stops');
    expect(received.map((t) => t.linear.x)).toEqual([0.1, 0.1, 0.1, 0.1, 0.1, 0, 0, 0]);
    expect(publishCount(bridge, 'limited')).toBe(12);

    now += 1000;
    send(0.2, 0.2, 0.2, 0.2, 0.2, 0.3);
    await waitFor(() => received.length === 13 && c.statuses.length >= 11, 'five more commands and the next refusal');
    expect(publishCount(bridge, 'limited')).toBe(13);
    // At most ten statuses a second however many refusals: a flood is not answered in kind. The next counts the rest.
    const refusal = 'message on /cmd_vel not published: over 5 messages a second (foxglove.client_publish.max_rate_hz); a stop (zero Twist) always goes through';
    expect(c.statuses.map((st) => st.message)).toEqual([...Array.from({ length: 10 }, () => refusal), `${refusal} (and 2 more problems not reported since the last status)`]);
  });

  it('refuses bytes that are not one message of the channel\'s type, telling the client what is wrong, and passes nothing of them on', async () => {
    const { bridge, c, codec, received } = await publishing(true);
    const cdr = c.client.advertise({ topic: '/cmd_vel', encoding: 'cdr', schemaName: 'geometry_msgs/msg/Twist' });
    const json = c.client.advertise({ topic: '/cmd_vel', encoding: 'json', schemaName: 'geometry_msgs/msg/Twist' });
    await serverHasRead(c);
    const valid = codec.encode('geometry_msgs/msg/Twist', twist(0.1));
    const unknownEncapsulation = Uint8Array.from(valid);
    unknownEncapsulation[1] = 0x77;
    const withJunk = new Uint8Array(valid.byteLength + 100 * 1024).fill(7);
    withJunk.set(valid);
    const text = (value: string) => new TextEncoder().encode(value);
    const cases: [number, Uint8Array, string][] = [
      [cdr, unknownEncapsulation, 'CDR encapsulation 0x77 is not one of 0x00 (CDR_BE), 0x01 (CDR_LE)'],
      [json, text('null'), 'expected a geometry_msgs/msg/Twist object, got null'],
      [json, text('{"linear":"fast","angular":[1,2]}'), 'linear: expected object, got string'],
      [cdr, withJunk, '102400 bytes follow the 52-byte CDR geometry_msgs/msg/Twist (CDR pads at most 3)'],
    ];
    for (const [i, [channel, data]] of cases.entries()) {
      c.client.sendMessage(channel, data);
      await waitFor(() => c.statuses.length === i + 1, `refusal ${i + 1}`);
    }
    expect(c.statuses.map((st) => st.message)).toEqual(cases.map(([, , problem]) => `message on /cmd_vel not published: ${problem}`));
    expect(c.statuses.every((st) => st.level === wsProtocol.StatusLevel.ERROR)).toBe(true);
    expect(publishCount(bridge, 'invalid')).toBe(4);

    // What CDR allows passes: up to 3 bytes of padding, big-endian, a partial JSON Twist; over the limit is clamped.
    const padded = new Uint8Array(valid.byteLength + 3);
    padded.set(valid);
    const bigEndian = new Uint8Array(52);
    new DataView(bigEndian.buffer).setFloat64(4, 0.2, false);
    c.client.sendMessage(cdr, padded);
    c.client.sendMessage(cdr, bigEndian);
    c.client.sendMessage(json, text('{"linear":{"x":0.3},"angular":{"z":0}}'));
    c.client.sendMessage(json, text('{"linear":{"x":1e999},"angular":{"z":0}}'));
    await waitFor(() => received.length === 4, 'four published');
    expect(received.map((t) => t.linear.x)).toEqual([0.1, 0.2, 0.3, 0.5]);
    expect(publishCount(bridge, 'rewritten')).toBe(1);
    expect(c.statuses).toHaveLength(4);
  });

  it('caps the channels one client may advertise at once', async () => {
    const { h, bridge, c } = await (async () => {
      const started = await start({ foxglove: { client_publish: { enabled: true, max_channels: 2 } }, components: [hooksAgent] });
      const client = connectClient(started.bridge.url!);
      await waitFor(() => client.info.capabilities.length > 0, 'server info');
      return { ...started, c: client };
    })();
    const ids = [0, 1, 2].map(() => c.client.advertise({ topic: '/cmd_vel', encoding: 'cdr', schemaName: 'geometry_msgs/msg/Twist' }));
    await waitFor(() => c.statuses.length === 1, 'the third channel refused');
    expect(c.statuses[0]!.message).toContain('foxglove.client_publish.max_channels');
    expect(publishCount(bridge, 'refused')).toBe(1);
    expect(h.bus.stats().find((t) => t.topic === '/cmd_vel')?.publishers).toBe(2);
    c.client.unadvertise(ids[0]!);
    c.client.advertise({ topic: '/cmd_vel', encoding: 'cdr', schemaName: 'geometry_msgs/msg/Twist' });
    await serverHasRead(c);
    expect(c.statuses).toHaveLength(1);
    expect(h.bus.stats().find((t) => t.topic === '/cmd_vel')?.publishers).toBe(2);
  });

  it('closes the connection of a client that sends a message over foxglove.max_message_bytes', async () => {
    const started = await start({ foxglove: { max_message_bytes: 4096, client_publish: { enabled: true } }, components: [hooksAgent] });
    const c = connectClient(started.bridge.url!);
    await waitFor(() => c.info.capabilities.length > 0, 'server info');
    let closeCode: number | undefined;
    c.ws.on('close', (code) => (closeCode = code));
    const channel = c.client.advertise({ topic: '/cmd_vel', encoding: 'json', schemaName: 'geometry_msgs/Twist' });
    c.client.sendMessage(channel, new Uint8Array(8192));
    await waitFor(() => closeCode !== undefined, 'the connection closed');
    expect(closeCode).toBe(1009);
  });

  it('takes JSON-encoded messages as well', async () => {
    const { c, received } = await publishing(true);
    const channel = c.client.advertise({ topic: '/cmd_vel', encoding: 'json', schemaName: 'geometry_msgs/Twist' });
    await serverHasRead(c);
    c.client.sendMessage(channel, new TextEncoder().encode(JSON.stringify(twist(0.3))));
    await waitFor(() => received.length === 1, 'the JSON message');
    expect(received[0]!.linear.x).toBeCloseTo(0.3);
  });

  it('refuses topics off the allowlist and types that do not match the topic', async () => {
    const { h, c } = await publishing(true);
    h.bus.advertise('/cmd_vel', 'geometry_msgs/msg/Twist', { source: 'sim' }).close(); // the base declares its type
    c.client.advertise({ topic: '/arm/joint_commands', encoding: 'cdr', schemaName: 'sensor_msgs/msg/JointState' });
    c.client.advertise({ topic: '/cmd_vel', encoding: 'cdr', schemaName: 'std_msgs/msg/String' });
    await waitFor(() => c.statuses.length === 2, 'two refusals');
    expect(c.statuses[0]!.message).toContain('not in foxglove.client_publish.topics');
    expect(c.statuses[1]!.message).toContain('carries geometry_msgs/msg/Twist');
    expect(h.bus.stats().some((t) => t.topic === '/arm/joint_commands')).toBe(false);
  });

  it('fails closed when no policy hooks are running, letting only a stop through', async () => {
    const { c, codec, received } = await publishing(false);
    const channel = c.client.advertise({ topic: '/cmd_vel', encoding: 'cdr', schemaName: 'geometry_msgs/msg/Twist' });
    await serverHasRead(c);
    c.client.sendMessage(channel, codec.encode('geometry_msgs/msg/Twist', twist(0.1)));
    await waitFor(() => c.statuses.length === 1, 'the denial');
    expect(c.statuses[0]!.message).toContain('policy hooks are not running');
    expect(received).toEqual([]);
    c.client.sendMessage(channel, codec.encode('geometry_msgs/msg/Twist', twist(0)));
    await waitFor(() => received.length === 1, 'the stop');
    expect(received[0]).toEqual(twist(0));
    expect(c.statuses).toHaveLength(1);
  });

  it('is off by default: the server does not offer clientPublish and ignores advertisements', async () => {
    const { h, bridge } = await start();
    const c = connectClient(bridge.url!);
    await waitFor(() => c.channels.has(EVENTS_TOPIC), 'the first advertisement');
    expect(c.info.capabilities).not.toContain('clientPublish');
    c.client.advertise({ topic: '/cmd_vel', encoding: 'cdr', schemaName: 'geometry_msgs/msg/Twist' });
    await serverHasRead(c);
    expect(h.bus.stats().some((t) => t.topic === '/cmd_vel')).toBe(false);
  });

  it('refuses to bind off loopback unless allow_remote is set', async () => {
    h = await startHarness({ startApi: false, foxglove: { host: '0.0.0.0' } });
    await expect(new FoxgloveBridge(h.ctx).start()).rejects.toThrow(/allow_remote/);
  });
});
