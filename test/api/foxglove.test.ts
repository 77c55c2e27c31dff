import { parse } from '@foxglove/rosmsg';
import { MessageReader } from '@foxglove/rosmsg2-serialization';
import wsProtocol from '@foxglove/ws-protocol';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.ts';
import { EVENTS_TOPIC } from '../../daemon/foxglove/foxglove-bridge.ts';
import { MemoryJournal } from '../helpers/memory-journal.ts';
import { foxgloveTestBed, serverHasRead, type StartedBridge } from './foxglove-harness.ts';

const { start, connect: connectClient, connectReady } = foxgloveTestBed();

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

/** A latched /map (transient_local, as a map server's) with one row of these cells, published once. */
function publishLatchedMap(h: StartedBridge['h'], codec: StartedBridge['codec'], cells: number[]): void {
  const map = h.bus.advertise('/map', 'nav_msgs/msg/OccupancyGrid', {
    source: 'sim',
    qos: { durability: 'transient_local', depth: 1 },
  });
  map.publish(
    codec.encode('nav_msgs/msg/OccupancyGrid', {
      header: { stamp: { sec: 0, nanosec: 0 }, frame_id: 'map' },
      info: {
        map_load_time: { sec: 0, nanosec: 0 },
        resolution: 0.05,
        width: cells.length,
        height: 1,
        origin: { position: { x: 0, y: 0, z: 0 }, orientation: { x: 0, y: 0, z: 0, w: 1 } },
      },
      data: Int8Array.from(cells),
    }),
  );
}

describe('the Foxglove WebSocket server', () => {
  it('advertises /scan with its ros2msg schema, and a client decodes the CDR it streams', async () => {
    const { h, bridge, codec } = await start();
    const pub = h.bus.advertise('/scan', 'sensor_msgs/msg/LaserScan', { source: 'sim' });
    const c = connectClient(bridge.url!);
    await waitFor(() => c.channels.has('/scan'), 'the /scan advertisement');
    const channel = c.channels.get('/scan')!;
    expect(channel).toMatchObject({
      encoding: 'cdr',
      schemaName: 'sensor_msgs/msg/LaserScan',
      schemaEncoding: 'ros2msg',
    });
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
    await waitFor(
      () => h.bus.stats().find((t) => t.topic === '/scan')!.subscribers === 0,
      'the bus subscription to end',
    );
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
    publishLatchedMap(h, codec, [0, 100, -1, 0]);
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
    const grid = codec.decode<{ data: Int8Array }>(
      'nav_msgs/msg/OccupancyGrid',
      new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength),
    );
    expect(Array.from(grid.data)).toEqual([0, 100, -1, 0]);
    expect(a.messages.length).toBe(1);
  });

  it('survives a client that sends `null` or a subscription that is not an object, and serves the next one', async () => {
    const { h, bridge, codec } = await start();
    publishLatchedMap(h, codec, [7]);
    const a = connectClient(bridge.url!);
    await waitFor(() => a.channels.has('/map'), '/map advertised');
    // /map is now watched: a later subscribe goes through the latched replay
    a.client.subscribe(a.channels.get('/map')!.id);
    await waitFor(() => a.messages.length === 1, 'the map for the first client');
    const rogue = connectClient(bridge.url!);
    await waitFor(() => rogue.channels.has('/map'), '/map advertised to the rogue client');
    for (const frame of [
      'null',
      '{"op":"subscribe","subscriptions":[null]}',
      '{"op":"subscribe","subscriptions":[{"id":"x","channelId":{}}]}',
    ])
      rogue.ws.send(frame);
    const b = connectClient(bridge.url!);
    await waitFor(() => b.channels.has('/map'), '/map advertised to the next client');
    b.client.subscribe(b.channels.get('/map')!.id);
    await waitFor(() => b.messages.length === 1, 'the map for the next client');
    expect(bridge.health().state).not.toBe('failed');
  });

  it('replays a latched /map only under a subscription the server took, not one it refused as a second for the channel', async () => {
    const { h, bridge, codec } = await start();
    publishLatchedMap(h, codec, [1, 2]);
    const a = connectClient(bridge.url!);
    await waitFor(() => a.channels.has('/map'), '/map advertised');
    a.client.subscribe(a.channels.get('/map')!.id); // /map is now watched: later subscriptions go through the replay
    await waitFor(() => a.messages.length === 1, 'the map for the first client');
    const b = connectClient(bridge.url!);
    await waitFor(() => b.channels.has('/map'), '/map advertised to the second');
    const map = b.channels.get('/map')!.id;
    const subscribe = (...ids: number[]) =>
      b.ws.send(JSON.stringify({ op: 'subscribe', subscriptions: ids.map((id) => ({ id, channelId: map })) }));
    subscribe(3, 4); // the server takes 3, and refuses 4: this client already subscribed to /map
    subscribe(5);
    await serverHasRead(b);
    expect(b.messages.map((m) => m.subscriptionId)).toEqual([3]);
    expect(b.statuses.map((st) => st.message)).toEqual([
      `Client already subscribed to channel ${map}; ignoring subscription`,
      `Client already subscribed to channel ${map}; ignoring subscription`,
    ]);
    // Once it unsubscribed, a new subscription takes the channel, and gets the map.
    b.ws.send(JSON.stringify({ op: 'unsubscribe', subscriptionIds: [3] }));
    subscribe(6);
    await waitFor(() => b.messages.length === 2, 'the map under the new subscription');
    expect(b.messages.map((m) => m.subscriptionId)).toEqual([3, 6]);
  });

  it('tells a client that an op is unknown also when it is named like a property of every object (toString, __proto__)', async () => {
    const { bridge } = await start();
    const c = connectClient(bridge.url!);
    await waitFor(() => c.channels.has(EVENTS_TOPIC), 'the first advertisement');
    for (const op of ['toString', '__proto__', 'constructor']) c.ws.send(JSON.stringify({ op }));
    await serverHasRead(c);
    expect(c.statuses.map((st) => st.message)).toEqual(
      ['toString', '__proto__', 'constructor'].map(
        (op) => `unknown op "${op}" (this server takes subscribe, unsubscribe, advertise, unadvertise)`,
      ),
    );
  });

  it('tells a client what was wrong with each frame it sent that the protocol does not allow (an error status)', async () => {
    let now = 0;
    const { h, bridge } = await start({ foxglove: { client_publish: { enabled: true } } }, { now: () => now });
    const c = await connectReady(bridge.url!);
    const frames: [string | Uint8Array, string | RegExp][] = [
      ['garbage', /^text frame is not JSON: /],
      ['[1]', 'text frame is not a JSON object with an "op", got an array'],
      ['{"op":"dance"}', 'unknown op "dance" (this server takes subscribe, unsubscribe, advertise, unadvertise)'],
      ['{"op":"subscribe"}', 'subscribe: "subscriptions" must be a list of {id, channelId} objects'],
      ['{"op":"advertise"}', 'advertise: "channels" must be a list of {id, topic, encoding, schemaName} objects'],
      [
        '{"op":"advertise","channels":[null]}',
        'advertise: channels[0] must be one of {id, topic, encoding, schemaName} objects',
      ],
      [
        '{"op":"advertise","channels":[{"id":5}]}',
        'advertise: a channel needs id (a number), topic, encoding and schemaName (strings)',
      ],
      ['{"op":"getParameters","parameterNames":[]}', 'getParameters is not supported by this daemon'],
      [
        Uint8Array.of(1, 99, 0, 0, 0, 7),
        'message data on channel 99, which this client has not advertised (advertise it first)',
      ],
      [Uint8Array.of(1, 2, 3), 'message data frame of 3 bytes is shorter than its 5-byte header (opcode, channel id)'],
      [
        Uint8Array.of(2, 1),
        'service call request frame of 2 bytes is shorter than its 13-byte header (opcode, service id, call id, encoding length)',
      ],
      [new Uint8Array(0), 'empty binary frame'],
      [
        Uint8Array.of(9, 0),
        'binary frame with opcode 9, which the protocol does not define for clients (1 is message data)',
      ],
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
    expect(c.statuses[0]!.message).toBe(
      'advertise: client publishing is off on this daemon (foxglove.client_publish.enabled)',
    );
  });

  it('throttles what a flood of bad frames makes the daemon say: ten statuses a second to the client, a log line per 10 s', async () => {
    let now = 0;
    const lines: { msg: string; client?: string; problem?: string; suppressed?: number }[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const { bridge } = await start({}, { now: () => now }, { log });
    const c = connectClient(bridge.url!);
    await waitFor(() => c.channels.has(EVENTS_TOPIC), 'the first advertisement');
    const bad = () => lines.filter((l) => l.msg === 'foxglove client frame refused');
    // The protocol server answers a subscription to an unknown channel itself: a marker that all before it was handled.
    const handled = async (marker: number) => {
      c.ws.send(JSON.stringify({ op: 'subscribe', subscriptions: [{ id: marker, channelId: 10_000 + marker }] }));
      await waitFor(
        () => c.statuses.some((st) => st.message.includes(`Channel ${10_000 + marker} `)),
        `marker ${marker}`,
      );
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
    await waitFor(
      () => lines.some((l) => l.msg === 'foxglove client left; its last refused frames were not logged'),
      'the closing count',
    );
    expect(lines.find((l) => l.msg === 'foxglove client left; its last refused frames were not logged')).toMatchObject({
      suppressed: 2,
    });
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
    const record = JSON.parse(new TextDecoder().decode(c.messages[0]!.data as DataView)) as {
      seq: number;
      kind: string;
    };
    expect(record).toMatchObject({ seq: 1, kind: 'agent_event' });
  });

  it('drops messages for a client that stops reading, instead of buffering them', async () => {
    const { h, bridge } = await start({ foxglove: { max_buffered_bytes: 64 * 1024 } });
    const pub = h.bus.advertise('/camera/image_raw', 'sensor_msgs/msg/Image', { source: 'sim' });
    const c = connectClient(bridge.url!);
    await waitFor(() => c.channels.has('/camera/image_raw'), 'the image channel');
    c.client.subscribe(c.channels.get('/camera/image_raw')!.id);
    await waitFor(
      () => h.bus.stats().find((t) => t.topic === '/camera/image_raw')!.subscribers === 1,
      'the bus subscription',
    );
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
