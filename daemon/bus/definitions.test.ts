import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { McapStreamReader, type TypedMcapRecords } from '@mcap/core';
import { parse } from '@foxglove/rosmsg';
import { MessageReader } from '@foxglove/rosmsg2-serialization';
import { describe, expect, it } from 'vitest';
import { decompressHandlers } from '../bags/decompress.ts';
import { FIXTURES } from '../../test/helpers/paths.ts';
import { MessageCodec } from './codec.ts';
import { DefinitionsRegistry, UnknownTypeError } from './definitions.ts';

const MSGS = join(FIXTURES, 'msgs');
const jazzy = new DefinitionsRegistry({ distro: 'jazzy' });
const files = new DefinitionsRegistry({ distro: 'none', dirs: [MSGS] });

const stamp = { sec: 12, nanosec: 345_000_000 };
const header = (frame_id: string) => ({ stamp, frame_id });
const quat = { x: 0, y: 0, z: 0.38268343236508984, w: 0.9238795325112867 };

/** One sample of every type the sim publishes or reads, with values that exercise each field. */
const SIM_SAMPLES: Record<string, unknown> = {
  'sensor_msgs/msg/LaserScan': {
    header: header('base_scan'),
    angle_min: 0,
    angle_max: 6.2657,
    angle_increment: 0.01745,
    time_increment: 0,
    scan_time: 0.2,
    range_min: 0.12,
    range_max: 3.5,
    ranges: new Float32Array([0.5, 1.25, Infinity, 3.0]),
    intensities: new Float32Array([]),
  },
  'nav_msgs/msg/Odometry': {
    header: header('odom'),
    child_frame_id: 'base_footprint',
    pose: {
      pose: { position: { x: 1.5, y: -2.25, z: 0 }, orientation: quat },
      covariance: new Float64Array(36).fill(0.01),
    },
    twist: {
      twist: { linear: { x: 0.22, y: 0, z: 0 }, angular: { x: 0, y: 0, z: -1.5 } },
      covariance: new Float64Array(36),
    },
  },
  'tf2_msgs/msg/TFMessage': {
    transforms: [
      {
        header: header('odom'),
        child_frame_id: 'base_footprint',
        transform: { translation: { x: 1, y: 2, z: 0 }, rotation: quat },
      },
      {
        header: header('base_link'),
        child_frame_id: 'base_scan',
        transform: { translation: { x: -0.032, y: 0, z: 0.172 }, rotation: { x: 0, y: 0, z: 0, w: 1 } },
      },
    ],
  },
  'nav_msgs/msg/OccupancyGrid': {
    header: header('map'),
    info: {
      map_load_time: stamp,
      resolution: 0.05,
      width: 3,
      height: 2,
      origin: { position: { x: -1, y: -1, z: 0 }, orientation: { x: 0, y: 0, z: 0, w: 1 } },
    },
    data: new Int8Array([0, 100, -1, 0, 0, 100]),
  },
  'geometry_msgs/msg/Twist': { linear: { x: 0.2, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0.5 } },
  'rosgraph_msgs/msg/Clock': { clock: stamp },
  'nav_msgs/msg/Path': {
    header: header('map'),
    poses: [{ header: header('map'), pose: { position: { x: 1, y: 2, z: 0 }, orientation: quat } }],
  },
};

describe('DefinitionsRegistry', () => {
  it('loads the jazzy set and every package of the fixture .msg directories', () => {
    expect(jazzy.size).toBeGreaterThan(100);
    expect(files.size).toBeGreaterThan(200);
    expect(files.warnings).toEqual([]);
    expect(files.has('test_msgs/msg/BasicTypes')).toBe(true);
    expect(files.has('std_srvs/srv/SetBool_Request')).toBe(true);
    expect(files.origin('sensor_msgs/msg/LaserScan')).toMatch(/LaserScan\.msg$/);
    expect(jazzy.origin('sensor_msgs/LaserScan')).toBe('jazzy'); // ROS 1 style names resolve too
  });

  it('names the missing dependency when a type cannot be resolved', () => {
    const partial = new DefinitionsRegistry({ distro: 'none' });
    partial.addMessageText('my_msgs/msg/Thing', 'std_msgs/Header header\nfloat64 x\n', 'inline');
    expect(() => partial.resolve('my_msgs/msg/Thing')).toThrow(UnknownTypeError);
    expect(() => partial.resolve('my_msgs/msg/Thing')).toThrow(
      /std_msgs\/msg\/Header \(needed by my_msgs\/msg\/Thing\)/,
    );
  });

  it('writes ros2msg schema text with every dependency, which parses back to the same definitions', () => {
    for (const registry of [jazzy, files]) {
      const text = registry.schemaText('nav_msgs/msg/Odometry');
      expect(text.match(/^MSG: /gm)).toHaveLength(9);
      const parsed = parse(text, { ros2: true });
      const sample = SIM_SAMPLES['nav_msgs/msg/Odometry'];
      const bytes = new MessageCodec(registry).encode('nav_msgs/msg/Odometry', sample);
      expect(new MessageReader(parsed).readMessage(bytes)).toEqual(
        new MessageCodec(registry).decode('nav_msgs/msg/Odometry', bytes),
      );
    }
  });
});

describe('CDR round trip of every type the sim uses', () => {
  for (const [type, sample] of Object.entries(SIM_SAMPLES)) {
    it(`${type}: the jazzy set and the .msg files agree byte for byte`, () => {
      const a = new MessageCodec(jazzy);
      const b = new MessageCodec(files);
      const fromJazzy = a.encode(type, sample);
      const fromFiles = b.encode(type, sample);
      expect(Buffer.from(fromFiles).equals(Buffer.from(fromJazzy))).toBe(true);
      expect(fromJazzy.subarray(0, 2)).toEqual(new Uint8Array([0, 1])); // CDR little-endian encapsulation header
      const decoded = b.decode(type, fromJazzy);
      expect(decoded).toEqual(a.decode(type, fromFiles));
      expect(a.encode(type, decoded)).toEqual(fromJazzy);
    });
  }
});

describe('decoding the rosbags-rs MCAP bag', () => {
  /** Field lists without comments or defaults, to tell whether two definitions describe the same bytes. */
  type Defs = {
    name?: string;
    definitions: { name: string; type: string; isArray?: boolean; arrayLength?: number; isConstant?: boolean }[];
  }[];
  const BUILTIN: Record<string, string> = { time: 'builtin_interfaces/Time', duration: 'builtin_interfaces/Duration' };
  const shape = (defs: Defs) =>
    JSON.stringify(
      defs
        .filter((d) => !/^builtin_interfaces\//.test(d.name ?? ''))
        .map((d) =>
          d.definitions
            .filter((f) => !f.isConstant)
            .map((f) => [
              f.name,
              BUILTIN[f.type] ?? f.type.replace('/msg/', '/'),
              f.isArray ?? false,
              f.arrayLength ?? null,
            ]),
        )
        .map((fields) => JSON.stringify(fields))
        .sort(),
    );

  it("decodes every message whose type has a definition, as the bag's own schema does", async () => {
    const reader = new McapStreamReader({ decompressHandlers: await decompressHandlers(), validateCrcs: true });
    reader.append(readFileSync(join(FIXTURES, 'bags/rosbags-rs/test_bag_mcap/test_bag_mcap.mcap')));
    const schemas = new Map<number, TypedMcapRecords['Schema']>();
    const channels = new Map<number, TypedMcapRecords['Channel']>();
    const registries = { jazzy, files };
    const decoded = { jazzy: 0, files: 0 };
    const drifted = new Set<string>();
    let messages = 0;
    for (let record; (record = reader.nextRecord());) {
      if (record.type === 'Schema') schemas.set(record.id, record);
      else if (record.type === 'Channel') channels.set(record.id, record);
      else if (record.type === 'Message') {
        messages++;
        const channel = channels.get(record.channelId)!;
        const schema = schemas.get(channel.schemaId)!;
        expect(channel.messageEncoding).toBe('cdr');
        const bagDefs = parse(new TextDecoder().decode(schema.data), { ros2: true });
        const theirs = new MessageReader(bagDefs).readMessage(record.data);
        for (const [name, registry] of Object.entries(registries) as [keyof typeof registries, DefinitionsRegistry][]) {
          if (!registry.has(schema.name)) continue;
          // A definition newer than the bag's (the .msg fixtures are from a later ROS than the bag) may not
          // decode it; that must be explained by the definitions differing, never by the codec.
          if (shape(registry.resolve(schema.name).definitions as Defs) !== shape(bagDefs as Defs)) {
            drifted.add(`${name}:${schema.name}`);
            continue;
          }
          expect(
            new MessageCodec(registry).decode(schema.name, record.data),
            `${channel.topic} (${schema.name}) with ${name}`,
          ).toEqual(theirs);
          decoded[name]++;
        }
      }
    }
    expect(messages).toBe(188);
    expect(decoded.jazzy).toBeGreaterThan(150);
    expect(decoded.files).toBeGreaterThan(150);
    // The bag was written by the Python rosbags library with pre-Jazzy definitions: the one drift is
    // sensor_msgs/Range, which gained `variance`. Any other drift would be news.
    expect([...drifted].sort()).toEqual(['files:sensor_msgs/msg/Range', 'jazzy:sensor_msgs/msg/Range']);
  });
});
