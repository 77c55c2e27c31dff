import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { McapIndexedReader } from '@mcap/core';
import { describe, expect, it } from 'vitest';
import { FIXTURES } from '../../test/helpers/paths.ts';
import { parseMetadata } from '../bags/metadata.ts';
import { DefinitionsRegistry } from './definitions.ts';
import { typeDescriptionHash } from './type-hash.ts';

const BAGS = join(FIXTURES, 'bags');

/** Types whose definition gained a field after the fixture bags were recorded, and that field's line. */
const CHANGED_SINCE = {
  'sensor_msgs/msg/Range': 'float32 variance',
  'rosbag2_interfaces/msg/WriteSplitEvent': 'string node_name',
} as Record<string, string>;

/**
 * type -> RIHS01 hash, as ROS 2 wrote them into the fixture bags' metadata (metadata.yaml, or the MCAP's `rosbag2`
 * record).
 */
async function hashesInFixtureBags(): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const add = (yaml: string, file: string) => {
    for (const t of parseMetadata(yaml, file).topics)
      if (t.typeDescriptionHash) found.set(t.type, t.typeDescriptionHash);
  };
  // The MCAP's `rosbag2` record holds the same YAML without its top-level key.
  const embedded = (yaml: string) => `rosbag2_bagfile_information:\n${yaml.replace(/^/gm, '  ')}`;
  for (const store of ['mcap', 'sqlite3']) {
    const file = join(
      BAGS,
      'rosbag2/rosbag2_tests/resources',
      store,
      'bag_with_topics_and_service_events/metadata.yaml',
    );
    add(readFileSync(file, 'utf8'), file);
  }
  const mcap = join(BAGS, 'rosbags-rs/test_bag_mcap/test_bag_mcap.mcap');
  const bytes = readFileSync(mcap);
  const reader = await McapIndexedReader.Initialize({
    readable: {
      size: async () => BigInt(bytes.byteLength),
      read: async (o, l) => bytes.subarray(Number(o), Number(o + l)),
    },
  });
  for await (const record of reader.readMetadata({ name: 'rosbag2' }))
    add(embedded(record.metadata.get('serialized_metadata')!), mcap);
  return found;
}

describe('RIHS01 type description hashes', () => {
  it('match what ROS 2 wrote into the fixture bags, from the built-in Jazzy set and from the .msg files alike', async () => {
    const expected = await hashesInFixtureBags();
    expect(expected.size).toBeGreaterThan(90);
    const registries = {
      builtin: new DefinitionsRegistry(),
      files: new DefinitionsRegistry({ distro: 'none', dirs: [join(FIXTURES, 'msgs')] }),
    };
    for (const [label, registry] of Object.entries(registries)) {
      const wrong: string[] = [];
      let compared = 0;
      const events: string[] = [];
      for (const [type, hash] of expected) {
        if (CHANGED_SINCE[type] !== undefined || !registry.has(type)) continue; // see the next test
        compared++;
        if (type.endsWith('_Event')) events.push(type);
        if (typeDescriptionHash(registry, type) !== hash) wrong.push(type);
      }
      expect(wrong, label).toEqual([]);
      expect(compared, label).toBeGreaterThanOrEqual(90);
      // Service events (pkg/srv/X_Event) among them: their `char` fields (ServiceEventInfo's client_gid) hash as
      // uint8, where std_msgs/Char's hashes as char.
      expect(events.length, label).toBeGreaterThan(0);
    }
  });

  it('follow the definition: a type as it was when the bag was recorded hashes as the bag says', async () => {
    const expected = await hashesInFixtureBags();
    const registry = new DefinitionsRegistry({ distro: 'none', dirs: [join(FIXTURES, 'msgs')] });
    for (const [type, addedLine] of Object.entries(CHANGED_SINCE)) {
      expect(typeDescriptionHash(registry, type), type).not.toBe(expected.get(type));
      const text = registry
        .messageText(type)!
        .split('\n')
        .filter((line) => !line.startsWith(addedLine))
        .join('\n');
      registry.addMessageText(type, text, 'test');
      expect(typeDescriptionHash(registry, type), type).toBe(expected.get(type));
    }
  });

  it('hash what rosidl hashes: constants and default values left out, byte apart from uint8, the type name in; none for an unknown type', () => {
    const hashOf = (text: string, type = 'demo/msg/A') => {
      const registry = new DefinitionsRegistry({ distro: 'none' });
      registry.addMessageText(type, text, 'test');
      return typeDescriptionHash(registry, type);
    };
    const a = hashOf('byte a\nchar b\nstring<=5 c\nint32[<=3] d\nint32 K=3 # a constant\nfloat64 f 1.5\n');
    expect(a).toMatch(/^RIHS01_[0-9a-f]{64}$/);
    expect(hashOf('byte a\nchar b\nstring<=5 c\nint32[<=3] d\nfloat64 f 2.5\n')).toBe(a);
    expect(hashOf('uint8 a\nchar b\nstring<=5 c\nint32[<=3] d\nfloat64 f\n')).not.toBe(a);
    expect(hashOf('byte a\nchar b\nstring<=6 c\nint32[<=3] d\nfloat64 f\n')).not.toBe(a);
    expect(hashOf('byte a\nchar b\nstring<=5 c\nint32[<=3] d\nfloat64 f\n', 'demo/msg/B')).not.toBe(a);
    expect(hashOf('demo/Missing m\n')).toBeUndefined();
    expect(typeDescriptionHash(new DefinitionsRegistry({ distro: 'none' }), 'demo/msg/Nothing')).toBeUndefined();
  });
  it('hash a service type as rosidl does (its request, response and event), as rmw_zenoh keys AddTwoInts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'srv-hash-'));
    try {
      mkdirSync(join(dir, 'example_interfaces', 'srv'), { recursive: true });
      writeFileSync(join(dir, 'example_interfaces', 'srv', 'AddTwoInts.srv'), 'int64 a\nint64 b\n---\nint64 sum\n');
      const registry = new DefinitionsRegistry();
      registry.addDirectory(dir);
      // rmw_zenoh's design document: `2/add_two_ints/example_interfaces::srv::dds_::AddTwoInts_/RIHS01_e118...`.
      expect(typeDescriptionHash(registry, 'example_interfaces/srv/AddTwoInts')).toBe(
        'RIHS01_e118de6bf5eeb66a2491b5bda11202e7b68f198d6f67922cf30364858239c81a',
      );
      expect(typeDescriptionHash(registry, 'example_interfaces/srv/NoSuchService')).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
