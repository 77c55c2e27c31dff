import { describe, expect, it } from 'vitest';
import { formatMetadata, parseMetadata, type BagMetadata } from '../bags/metadata.ts';
import { MetadataText } from './metadata-text.ts';

function bag(topics: number, files: number, seed = 1): BagMetadata {
  const names = ['/odom', '/scan: raw', '/#hash', "/it's", '/ns/"quoted"', '/tab\there', '/ünïcode', '/- dash', '/~'];
  return {
    version: 9,
    storageIdentifier: 'mcap',
    durationNs: BigInt(seed) * 1_000_000_007n,
    startingTimeNs: 1_700_000_000_000_000_000n + BigInt(seed),
    messageCount: topics * files * seed,
    topics: Array.from({ length: topics }, (_, i) => ({
      name: i < names.length ? names[i]! : `/t${i}`,
      type: i % 2 ? 'sensor_msgs/msg/LaserScan' : 'std_msgs/msg/String',
      serializationFormat: 'cdr',
      offeredQosProfiles: [
        {
          history: 'keep_last',
          depth: 10 + i,
          reliability: i % 3 ? 'reliable' : 'best_effort',
          durability: 'volatile',
          deadline: { sec: 2147483647, nsec: 4294967295 },
        },
      ],
      typeDescriptionHash: i % 4 ? `RIHS01_${'ab'.repeat(32)}` : '',
      messageCount: i * seed,
    })),
    compressionFormat: '',
    compressionMode: '',
    relativeFilePaths: Array.from({ length: files }, (_, i) => `rosbag2_2025_01_01-00_00_00_${i}.mcap`),
    files: Array.from({ length: files }, (_, i) => ({
      path: `rosbag2_2025_01_01-00_00_00_${i}.mcap`,
      startingTimeNs: BigInt(i * seed),
      durationNs: BigInt(i),
      messageCount: i + seed,
    })),
    customData:
      seed % 2
        ? { 'auraison_edge.dropped_messages': '{"/scan": 3}', 'auraison_edge.retention_deleted': 'a_0.mcap,a_1.mcap' }
        : {},
    rosDistro: 'jazzy',
  };
}

describe('MetadataText', () => {
  it('writes what formatMetadata writes, byte for byte, as counts change, splits are added and taken away', () => {
    const text = new MetadataText();
    for (const [topics, files, seed] of [
      [0, 0, 1],
      [1, 0, 2],
      [0, 1, 3],
      [12, 5, 1],
      [12, 6, 2],
      [12, 6, 3],
      [3, 6, 4],
      [12, 2, 5],
      [40, 30, 6],
    ] as const) {
      const meta = bag(topics, files, seed);
      const ours = text.format(meta);
      expect(ours).toBe(formatMetadata(meta));
      const parsed = parseMetadata(ours, 'metadata.yaml');
      expect(parsed.topics.map((t) => [t.name, t.messageCount])).toEqual(
        meta.topics.map((t) => [t.name, t.messageCount]),
      );
      expect(parsed.files).toEqual(meta.files);
    }
  });
});
