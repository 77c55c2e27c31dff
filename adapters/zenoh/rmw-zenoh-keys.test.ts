import { describe, expect, it } from 'vitest';
import { ros2ddsMapping, rmwZenohMapping } from './mapping.ts';
import {
  dataKey,
  decodeAttachment,
  encodeAttachment,
  entityToken,
  keyexprToQos,
  nodeToken,
  parseToken,
  qosToKeyexpr,
} from './rmw-zenoh-keys.ts';

// The examples of rmw_zenoh's design document (docs/design.md, "Topic and Service name mapping" and "Graph Cache").
const CHATTER_HASH = 'RIHS01_df668c740482bbd48fb39d76a70dfd4bd59db1288021743503259e948f6b1a18';

describe('rmw_zenoh names, as its design document writes them', () => {
  it('maps a topic to <domain>/<name>/<DDS type>/<hash>, namespaces included', () => {
    expect(dataKey(0, '/chatter', 'std_msgs/msg/String', CHATTER_HASH)).toBe(
      `0/chatter/std_msgs::msg::dds_::String_/${CHATTER_HASH}`,
    );
    expect(dataKey(0, '/robot1/chatter', 'std_msgs/msg/String', CHATTER_HASH)).toBe(
      `0/robot1/chatter/std_msgs::msg::dds_::String_/${CHATTER_HASH}`,
    );
  });

  it('writes the node and publisher tokens of the talker example, QoS defaults left empty', () => {
    const node = { domain: 2, zid: '8b20917502ee955ac4476e0266340d5c', nodeId: 0, namespace: '/', name: 'talker' };
    expect(nodeToken(node)).toBe('@ros2_lv/2/8b20917502ee955ac4476e0266340d5c/0/0/NN/%/%/talker');
    const qos = { reliability: 'reliable', durability: 'volatile', depth: 7 } as const;
    expect(
      entityToken(node, {
        kind: 'publisher',
        entityId: 10,
        name: '/chatter',
        rosType: 'std_msgs/msg/String',
        typeHash: CHATTER_HASH,
        qos,
      }),
    ).toBe(
      `@ros2_lv/2/8b20917502ee955ac4476e0266340d5c/0/10/MP/%/%/talker/%chatter/std_msgs::msg::dds_::String_/${CHATTER_HASH}/::,7:,:,:,,`,
    );
  });

  it('encodes best effort and transient_local as rmw enum values, and reads them back', () => {
    const qos = { reliability: 'best_effort', durability: 'transient_local', depth: 1 } as const;
    expect(qosToKeyexpr(qos)).toBe('2:1:,1:,:,:,,');
    expect(keyexprToQos('2:1:,1:,:,:,,')).toEqual(qos);
    expect(keyexprToQos('::,:,:,:,,')).toEqual({ reliability: 'reliable', durability: 'volatile', depth: 42 });
    expect(keyexprToQos('x:,:')).toBeUndefined();
  });

  it("parses the listener's subscription token of the design document, and refuses another domain", () => {
    const key = `@ros2_lv/2/aac3178e146ba6f1fc6e6a4085e77f21/0/10/MS/%/%/listener/%chatter/std_msgs::msg::dds_::String_/${CHATTER_HASH}/::,10:,:,:,,`;
    expect(parseToken(key, 2)).toMatchObject({
      kind: 'subscriber',
      node: '/listener',
      name: '/chatter',
      rosType: 'std_msgs/msg/String',
      typeHash: CHATTER_HASH,
      qos: { depth: 10 },
    });
    expect(parseToken(key, 0)).toBeUndefined();
    expect(parseToken('@ros2_lv/0/z/0/0/NN/%/%robot1/driver', 0)).toMatchObject({
      kind: 'node',
      node: '/robot1/driver',
    });
  });

  it('writes the attachment as int64 LE sequence, int64 LE timestamp, the GID length and the GID', () => {
    const gid = Uint8Array.from({ length: 16 }, (_, i) => i);
    const bytes = encodeAttachment({ sequence: 5n, timestampNs: 1_700_000_000_000_000_000n, gid });
    expect(bytes.length).toBe(33);
    expect(Buffer.from(bytes.subarray(0, 8)).toString('hex')).toBe('0500000000000000');
    expect(bytes[16]).toBe(16);
    expect(decodeAttachment(bytes)).toEqual({ sequence: 5n, timestampNs: 1_700_000_000_000_000_000n, gid });
    expect(decodeAttachment(bytes.subarray(0, 20))).toBeUndefined();
  });
});

describe('zenoh-bridge-ros2dds names', () => {
  it("reads a bridge's publisher token with its namespace, and writes ours as the bridge would", () => {
    const mapping = ros2ddsMapping('/bot1');
    const token = '@/aa11/@ros2_lv/MP/bot1§scan/sensor_msgs§msg§LaserScan/:0:0:0,5';
    expect(mapping.parseToken(token)).toMatchObject({
      kind: 'publisher',
      name: '/scan',
      rosType: 'sensor_msgs/msg/LaserScan',
      qos: { reliability: 'best_effort', durability: 'volatile', depth: 5 },
    });
    expect(mapping.dataKey('/scan', 'sensor_msgs/msg/LaserScan', undefined)).toBe('bot1/scan');
    const ours = mapping.entityToken(
      { zid: 'bb22', nodeId: 1, namespace: '/', name: 'n' },
      {
        kind: 'publisher',
        entityId: 1,
        name: '/cmd_vel',
        rosType: 'geometry_msgs/msg/Twist',
        typeHash: undefined,
        qos: { reliability: 'reliable', durability: 'volatile', depth: 10 },
      },
    );
    expect(ours).toBe('@/bb22/@ros2_lv/MP/bot1§cmd_vel/geometry_msgs§msg§Twist/:1:0:0,10');
    expect(mapping.parseToken(ours)).toMatchObject({
      name: '/cmd_vel',
      rosType: 'geometry_msgs/msg/Twist',
      qos: { reliability: 'reliable', depth: 10 },
    });
  });

  it('keeps rmw_zenoh tokens of the configured domain only', () => {
    expect(rmwZenohMapping(3).livelinessKey).toBe('@ros2_lv/3/**');
  });
});

describe('announced names ROS 2 refuses', () => {
  it('are no entity of the graph, in either mapping: a peer cannot put a second spelling of a topic on the bus', () => {
    const rmw = rmwZenohMapping(2);
    const rmwToken = (name: string) =>
      `@ros2_lv/2/8b20917502ee955ac4476e0266340d5c/0/10/MP/%/%/talker/${name}/geometry_msgs::msg::dds_::Twist_/${CHATTER_HASH}/::,7:,:,:,,`;
    expect(rmw.parseToken(rmwToken('%cmd_vel'))).toMatchObject({ name: '/cmd_vel' });
    // `%cmd_vel%` is /cmd_vel/, `%%cmd_vel` //cmd_vel, and the others hold characters no ROS 2 name does
    for (const name of ['%cmd_vel%', '%%cmd_vel', '%cmd-vel', '%cmd.vel', '%1cmd_vel', '%\u0441md_vel'])
      expect(rmw.parseToken(rmwToken(name)), name).toBeUndefined();
    const dds = ros2ddsMapping('/');
    const ddsToken = (ke: string) => `@/aa11/@ros2_lv/MP/${ke}/geometry_msgs§msg§Twist/:0:0:0,5`;
    expect(dds.parseToken(ddsToken('cmd_vel'))).toMatchObject({ name: '/cmd_vel' });
    for (const ke of ['cmd_vel§', '§cmd_vel', 'cmd-vel', 'a§§b'])
      expect(dds.parseToken(ddsToken(ke)), ke).toBeUndefined();
  });
});
