import { basename } from 'node:path';
import {
  listedFiles,
  NO_START,
  parseOfferedQos,
  qosProfileV9,
  type BagFileInfo,
  type BagMetadata,
  type BagTopic,
} from '../bags/index.ts';
import type { Scan } from './split-repair.ts';

/** A split's entry in metadata.yaml: its time span from the messages whose channel is known. */
export function splitInfo(name: string, scan: Scan, messages: number): BagFileInfo {
  const known = [...scan.counts.keys()].filter((id) => scan.channels.has(id));
  const start = known.reduce<bigint | undefined>(
    (m, id) => (m === undefined || scan.start.get(id)! < m ? scan.start.get(id)! : m),
    undefined,
  );
  const end = known.reduce<bigint | undefined>(
    (m, id) => (m === undefined || scan.end.get(id)! > m ? scan.end.get(id)! : m),
    undefined,
  );
  // A split without messages starts at rosbag2's "never" (INT64_MAX), as rosbag2 writes it.
  return {
    path: name,
    startingTimeNs: start ?? NO_START,
    durationNs: start !== undefined ? end! - start : 0n,
    messageCount: messages,
  };
}

/** Adds a split's channels to the bag's topics, with their message counts. */
export function addTopics(topics: Map<string, BagTopic>, scan: Scan): void {
  for (const [id, channel] of scan.channels) {
    const schema = scan.schemas.get(channel.schemaId);
    const entry = topics.get(channel.topic) ?? {
      name: channel.topic,
      type: schema?.name ?? '',
      serializationFormat: channel.messageEncoding,
      offeredQosProfiles: [
        qosProfileV9(
          parseOfferedQos(channel.metadata.get('offered_qos_profiles')) ?? {
            reliability: 'reliable',
            durability: 'volatile',
            depth: 10,
          },
        ),
      ],
      typeDescriptionHash: channel.metadata.get('topic_type_hash') ?? '',
      messageCount: 0,
    };
    entry.messageCount += scan.counts.get(id) ?? 0;
    topics.set(channel.topic, entry);
  }
}

/** Whether metadata.yaml lists exactly these splits, with the messages they hold. */
export function describes(meta: BagMetadata | undefined, files: BagFileInfo[]): boolean {
  if (!meta || (meta.storageIdentifier !== '' && meta.storageIdentifier !== 'mcap')) return false;
  const listed = listedFiles(meta).map((p) => basename(p));
  const present = files.map((f) => f.path);
  if (listed.length !== present.length || present.some((p) => !listed.includes(p))) return false;
  if (meta.messageCount !== files.reduce((n, f) => n + f.messageCount, 0)) return false;
  return meta.files.every((f) => files.find((s) => s.path === basename(f.path))?.messageCount === f.messageCount);
}
