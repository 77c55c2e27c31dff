import { join } from 'node:path';
import type { TopicQos } from '../bus/index.ts';
import { NO_START, qosProfilesText, type BagFileInfo, type BagTopic } from '../bags/index.ts';
import type { ChunkCompression, Compressor } from './chunk-compression.ts';
import { McapSegmentWriter } from './mcap-segment-writer.ts';
import type { SegmentIO } from './segment-io.ts';

/** The open MCAP file of a bag, with what metadata.yaml and its own metadata record say of it. */
export interface Split {
  writer: McapSegmentWriter;
  info: BagFileInfo;
  firstLogTime: bigint | undefined;
  channels: Map<string, number>;
  /** Messages per topic in this split (its own metadata; taken off the bag's counts if retention deletes it). */
  counts: Map<string, number>;
}

export interface SplitFileOptions {
  io: SegmentIO;
  compression: ChunkCompression;
  compressor: Compressor | undefined;
  chunkSize: number;
  chunkCrc: boolean | undefined;
}

/** Creates the split file `path` in the bag directory `dir`, with no message yet. */
export function openSplit(dir: string, path: string, options: SplitFileOptions): Split {
  const { io, compression, compressor, chunkSize, chunkCrc } = options;
  const writer = new McapSegmentWriter({
    file: io.create(join(dir, path)),
    compression,
    compressor,
    chunkSize,
    chunkCrc: chunkCrc ?? true,
    library: 'auraison-edge recorder',
  });
  return {
    writer,
    info: { path, startingTimeNs: NO_START, durationNs: 0n, messageCount: 0 },
    firstLogTime: undefined,
    channels: new Map(),
    counts: new Map(),
  };
}

/** Whether the split is due to close before a message logged at `logTime` (a limit of 0 is none). */
export function shouldSplit(split: Split, logTime: bigint, maxBytes: number, maxDurationNs: bigint): boolean {
  if (split.info.messageCount === 0) return false;
  if (maxBytes > 0 && split.writer.byteLength >= maxBytes) return true;
  return maxDurationNs > 0n && split.firstLogTime !== undefined && logTime - split.firstLogTime >= maxDurationNs;
}

/** Adds a topic's channel to the split, with its schema when `schemaText` knows the type. */
export function addChannel(split: Split, meta: BagTopic, schemaText: (type: string) => string | undefined): number {
  const text = schemaText(meta.type);
  const schemaId =
    text === undefined
      ? 0
      : split.writer.addSchema({ name: meta.type, encoding: 'ros2msg', data: new TextEncoder().encode(text) });
  const qos = meta.offeredQosProfiles as Record<string, unknown>[];
  const channelId = split.writer.addChannel({
    topic: meta.name,
    schemaId,
    messageEncoding: 'cdr',
    metadata: new Map([
      [
        'offered_qos_profiles',
        qosProfilesText({
          reliability: qos[0]!.reliability as TopicQos['reliability'],
          durability: qos[0]!.durability as TopicQos['durability'],
          depth: qos[0]!.depth as number,
        }),
      ],
      ['topic_type_hash', meta.typeDescriptionHash],
    ]),
  });
  split.channels.set(meta.name, channelId);
  return channelId;
}

/** Counts a message written to the split and widens the split's time span to its log time. */
export function countMessage(split: Split, topic: string, logTime: bigint): void {
  split.counts.set(topic, (split.counts.get(topic) ?? 0) + 1);
  if (split.firstLogTime === undefined || logTime < split.firstLogTime) split.firstLogTime = logTime;
  const end = split.info.startingTimeNs + split.info.durationNs;
  if (split.info.messageCount === 0) {
    split.info.startingTimeNs = logTime;
    split.info.durationNs = 0n;
  } else if (logTime < split.info.startingTimeNs) {
    split.info.durationNs = end - logTime;
    split.info.startingTimeNs = logTime;
  } else if (logTime > end) {
    split.info.durationNs = logTime - split.info.startingTimeNs;
  }
  split.info.messageCount++;
}
