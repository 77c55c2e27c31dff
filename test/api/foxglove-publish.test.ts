import wsProtocol from '@foxglove/ws-protocol';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.ts';
import { parseConfigText } from '../../daemon/config/load.ts';
import { policyHooks } from '../../daemon/policy/hooks.ts';
import type { PolicyHook } from '../../daemon/contract/policy-hook.ts';
import { EVENTS_TOPIC, type FoxgloveBridgeOptions } from '../../daemon/foxglove/foxglove-bridge.ts';
import {
  cmdVel,
  foxgloveTestBed,
  policyAgent,
  publishCount,
  serverHasRead,
  twist,
  type Twist,
} from './foxglove-harness.ts';
import type { HarnessOptions } from './harness.ts';

// Foxglove clients publishing onto the bus (a teleop panel on /cmd_vel), through the policy hooks.

const { start, connect: connectClient, connectReady } = foxgloveTestBed();

describe('client publishing', () => {
  const limits: PolicyHook = {
    name: 'teleop_limits',
    beforeToolCall(ctx, input) {
      const { topic, fields: message } = input as { topic: string; fields: Twist };
      if (ctx.tool !== 'publish' || topic !== '/cmd_vel') return { action: 'allow' };
      if (Math.abs(message.angular.z) > 2)
        return { action: 'deny', rule: 'max_turn_rate', reason: `angular.z ${message.angular.z} > 2 rad/s` };
      if (message.linear.x > 0.5)
        return {
          action: 'rewrite',
          rule: 'max_speed',
          reason: 'clamped to 0.5 m/s',
          value: { ...(input as object), fields: { ...message, linear: { ...message.linear, x: 0.5 } } },
        };
      return { action: 'allow' };
    },
  };
  const hooksAgent = policyAgent(() => [limits]);

  /** A bridge with client publishing on (and `clientPublish` settings), a client, and what reaches /cmd_vel. */
  async function publishing(
    withHooks: boolean,
    clientPublish: NonNullable<HarnessOptions['foxglove']>['client_publish'] = {},
    bridgeOptions: FoxgloveBridgeOptions = {},
  ) {
    const started = await start(
      { foxglove: { client_publish: { enabled: true, ...clientPublish } }, components: withHooks ? [hooksAgent] : [] },
      bridgeOptions,
    );
    const received = cmdVel(started.h.bus, started.codec);
    const c = await connectReady(started.bridge.url!);
    return { ...started, c, received };
  }

  it('publishes /cmd_vel from a client through the policy hooks: allowed, rewritten, denied', async () => {
    const { c, codec, received } = await publishing(true);
    expect(c.info.capabilities).toContain('clientPublish');
    const channel = c.client.advertise({ topic: '/cmd_vel', encoding: 'cdr', schemaName: 'geometry_msgs/msg/Twist' });
    await serverHasRead(c);
    c.client.sendMessage(channel, codec.encode('geometry_msgs/msg/Twist', twist(0.2)));
    c.client.sendMessage(channel, codec.encode('geometry_msgs/msg/Twist', twist(3)));
    // the same rule again: not told again
    c.client.sendMessage(channel, codec.encode('geometry_msgs/msg/Twist', twist(4)));
    c.client.sendMessage(channel, codec.encode('geometry_msgs/msg/Twist', twist(0.1, 5)));
    await waitFor(() => received.length === 3 && c.statuses.length === 2, 'three published, one denied');
    expect(received.map((t) => t.linear.x)).toEqual([0.2, 0.5, 0.5]);
    // A rewrite is told (once while it goes on), as a denial is.
    expect(c.statuses.map((st) => [st.level, st.message])).toEqual([
      [
        wsProtocol.StatusLevel.INFO,
        'message on /cmd_vel published as changed by the policy: max_speed: clamped to 0.5 m/s',
      ],
      [wsProtocol.StatusLevel.WARNING, expect.stringContaining('max_turn_rate')],
    ]);
  });

  it("applies the daemon's own policy hooks (motion.velocity clamps a teleop /cmd_vel like an agent's)", async () => {
    const base = parseConfigText('', 'test.yaml');
    const agent = policyAgent(() => policyHooks({ rules: base.agent.rules, motion: base.motion }));
    const started = await start({ foxglove: { client_publish: { enabled: true } }, components: [agent] });
    started.h.bus.advertise('/cmd_vel', 'geometry_msgs/msg/Twist', { source: 'sim' }).close();
    const received = cmdVel(started.h.bus, started.codec);
    const c = await connectReady(started.bridge.url!);
    const channel = c.client.advertise({ topic: '/cmd_vel', encoding: 'cdr', schemaName: 'geometry_msgs/msg/Twist' });
    await serverHasRead(c);
    c.client.sendMessage(channel, started.codec.encode('geometry_msgs/msg/Twist', twist(1.5, 0.3)));
    await waitFor(() => received.length === 1, 'the clamped command');
    expect(received[0]!.linear.x).toBeCloseTo(base.motion.velocity.max_linear_x);
    expect(received[0]!.angular.z).toBeCloseTo(0.3);
  });

  it('caps the messages a client has waiting for the hooks: the rest are dropped and counted, not queued', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const slow: PolicyHook = { name: 'slow', beforeToolCall: async () => (await held, { action: 'allow' }) };
    const agent = policyAgent(() => [slow]);
    const started = await start({
      foxglove: { client_publish: { enabled: true, max_pending: 4 } },
      components: [agent],
    });
    const received = cmdVel(started.h.bus, started.codec);
    const c = await connectReady(started.bridge.url!);
    const channel = c.client.advertise({ topic: '/cmd_vel', encoding: 'cdr', schemaName: 'geometry_msgs/msg/Twist' });
    await serverHasRead(c);
    for (let i = 0; i < 50; i++)
      c.client.sendMessage(channel, started.codec.encode('geometry_msgs/msg/Twist', twist(i / 100)));
    // The status that tells the client reaches it over the socket after the bridge has counted the drops.
    const capped = () => c.statuses.filter((st) => st.message.includes('max_pending'));
    await waitFor(
      () => publishCount(started.bridge, 'dropped') === 46 && capped().length > 0,
      '46 messages dropped, and the client told',
    );
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
    const send = (...xs: number[]) =>
      xs.forEach((x) => c.client.sendMessage(channel, codec.encode('geometry_msgs/msg/Twist', twist(x))));

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
    const refusal =
      'message on /cmd_vel not published: over 5 messages a second (foxglove.client_publish.max_rate_hz); a stop (zero Twist) always goes through';
    expect(c.statuses.map((st) => st.message)).toEqual([
      ...Array.from({ length: 10 }, () => refusal),
      `${refusal} (and 2 more problems not reported since the last status)`,
    ]);
  });

  it("refuses bytes that are not one message of the channel's type, telling the client what is wrong, and passes nothing of them on", async () => {
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
    expect(c.statuses.map((st) => st.message)).toEqual(
      cases.map(([, , problem]) => `message on /cmd_vel not published: ${problem}`),
    );
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
    await waitFor(() => c.statuses.length === 5, 'the rewrite told');
    expect(c.statuses[4]!.message).toBe(
      'message on /cmd_vel published as changed by the policy: max_speed: clamped to 0.5 m/s',
    );
  });

  it('caps the channels one client may advertise at once', async () => {
    const { h, bridge, c } = await (async () => {
      const started = await start({
        foxglove: { client_publish: { enabled: true, max_channels: 2 } },
        components: [hooksAgent],
      });
      const client = await connectReady(started.bridge.url!);
      return { ...started, c: client };
    })();
    const ids = [0, 1, 2].map(() =>
      c.client.advertise({ topic: '/cmd_vel', encoding: 'cdr', schemaName: 'geometry_msgs/msg/Twist' }),
    );
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
    const started = await start({
      foxglove: { max_message_bytes: 4096, client_publish: { enabled: true } },
      components: [hooksAgent],
    });
    const c = await connectReady(started.bridge.url!);
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

  it('forgets an advertisement it refused: the client may advertise that channel id again, and publish on it', async () => {
    const { h, c, codec, received } = await publishing(true);
    h.bus.advertise('/cmd_vel', 'geometry_msgs/msg/Twist', { source: 'sim' }).close(); // the base declares its type
    const advertise = (schemaName: string) =>
      c.ws.send(
        JSON.stringify({ op: 'advertise', channels: [{ id: 7, topic: '/cmd_vel', encoding: 'cdr', schemaName }] }),
      );
    advertise('std_msgs/msg/String');
    await waitFor(() => c.statuses.length === 1, 'the refusal');
    expect(c.statuses[0]!.message).toContain('carries geometry_msgs/msg/Twist');
    advertise('geometry_msgs/msg/Twist');
    await serverHasRead(c);
    c.client.sendMessage(7, codec.encode('geometry_msgs/msg/Twist', twist(0.1)));
    await waitFor(() => received.length === 1 || c.statuses.length > 1, 'the message on channel 7');
    expect(c.statuses.map((st) => st.message)).toHaveLength(1);
    expect(received).toEqual([twist(0.1)]);
  });

  it('refuses a channel id that message data cannot name (an integer from 0 to 4294967295)', async () => {
    const { h, bridge, c } = await publishing(true);
    const ids = [1.5, -1, 2 ** 32];
    c.ws.send(
      JSON.stringify({
        op: 'advertise',
        channels: ids.map((id) => ({ id, topic: '/cmd_vel', encoding: 'cdr', schemaName: 'geometry_msgs/msg/Twist' })),
      }),
    );
    await waitFor(() => c.statuses.length === 3, 'three refusals');
    expect(c.statuses.map((st) => st.message)).toEqual(
      ids.map((id) => `cannot publish on /cmd_vel: channel id ${id} is not an integer from 0 to 4294967295`),
    );
    expect(publishCount(bridge, 'refused')).toBe(3);
    expect(h.bus.stats().some((t) => t.topic === '/cmd_vel')).toBe(false);
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
    await expect(start({ foxglove: { host: '0.0.0.0' } })).rejects.toThrow(/allow_remote/);
  });
});
