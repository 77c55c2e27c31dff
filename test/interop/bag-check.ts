import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { expect } from 'vitest';
import { readerPeers, runPeer, runPythonPeer } from '../peers/index.ts';

/** A message as rosbags or mcap-ros2-support decoded it: fields as plain JSON values (see plain.py). */
export interface PeerMessage {
  topic: string;
  log_time: string;
  value: unknown;
}

interface RosbagsBag {
  message_count: number;
  topics: { name: string; type: string; count: number; digest: string; serialization_format: string; qos: unknown[] }[];
  hashes: Record<string, string>;
  from_bag: string[];
  counts: Record<string, number>;
  messages: PeerMessage[];
}

interface McapCheck {
  file: string;
  errors: string[];
  warnings: string[];
  profile: string;
  messageCount: number;
  start: string;
  end: string;
  topics: Record<string, number>;
}

interface RawMetadata {
  message_count: bigint;
  relative_file_paths: string[];
  files: {
    path: string;
    starting_time: { nanoseconds_since_epoch: bigint };
    duration: { nanoseconds: bigint };
    message_count: bigint;
  }[];
  topics_with_message_count: {
    topic_metadata: {
      name: string;
      type: string;
      serialization_format: string;
      offered_qos_profiles: unknown[];
      type_description_hash: string;
    };
    message_count: bigint;
  }[];
}

/**
 * Opens a bag directory with the real readers and checks them against its metadata.yaml, as a user who trusts
 * those tools would: rosbags lists the same topics, types, QoS, hashes and counts and deserializes every
 * message; the Go MCAP library finds no problem in any split and agrees on each split's counts and time range;
 * mcap-ros2-support decodes every message with the schema in the file to the same values as rosbags.
 * Returns rosbags' messages, for the caller to compare with what was published.
 */
export async function checkBagWithReaders(bag: string): Promise<PeerMessage[]> {
  // Read as plain YAML, not with our parser: the file is what the peers read.
  // Integers as bigints: times in ns since the epoch do not fit a double.
  const meta = (
    parse(readFileSync(join(bag, 'metadata.yaml'), 'utf8'), { intAsBigInt: true }) as {
      rosbag2_bagfile_information: RawMetadata;
    }
  ).rosbag2_bagfile_information;
  const rosbags = await runPythonPeer<RosbagsBag>('rosbags_read.py', [bag]);

  const ours = meta.topics_with_message_count.map(({ topic_metadata: t, message_count }) => ({
    name: t.name,
    type: t.type,
    count: Number(message_count),
    digest: t.type_description_hash,
    serialization_format: t.serialization_format,
    qos: plain(t.offered_qos_profiles),
  }));
  expect(rosbags.topics).toEqual(ours);
  expect(rosbags.from_bag, 'types rosbags had to take from the bag rather than its ROS 2 Jazzy store').toEqual([]);
  for (const t of ours) {
    expect(t.digest, t.type).toMatch(/^RIHS01_[0-9a-f]{64}$/);
    expect(t.digest, `${t.type}: rosbags computes ${rosbags.hashes[t.type]}`).toBe(rosbags.hashes[t.type]);
    expect(rosbags.counts[t.name] ?? 0, `messages rosbags read on ${t.name}`).toBe(t.count);
  }
  expect(rosbags.messages.length).toBe(Number(meta.message_count));

  const splits = meta.relative_file_paths.map((p) => join(bag, p));
  const checks = (await runPeer(readerPeers().mcapCheck, splits))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as McapCheck);
  const perTopic: Record<string, number> = {};
  for (const [i, check] of checks.entries()) {
    expect({ file: check.file, errors: check.errors, warnings: check.warnings, profile: check.profile }).toEqual({
      file: splits[i],
      errors: [],
      warnings: [],
      profile: 'ros2',
    });
    const entry = meta.files.find((f) => join(bag, f.path) === check.file)!;
    const start = entry.starting_time.nanoseconds_since_epoch;
    const info = [check.messageCount, check.start, check.end];
    // A split with no message (opened just before a kill) has no time range; metadata.yaml gives it rosbag2's
    // empty start (int64 max), as rosbag2 does.
    const range = entry.message_count === 0n ? ['0', '0'] : [String(start), String(start + entry.duration.nanoseconds)];
    expect(info, check.file).toEqual([Number(entry.message_count), ...range]);
    for (const [topic, n] of Object.entries(check.topics)) perTopic[topic] = (perTopic[topic] ?? 0) + n;
  }
  expect(perTopic).toEqual(Object.fromEntries(ours.filter((t) => t.count > 0).map((t) => [t.name, t.count])));

  const decoded = await runPythonPeer<{ messages: PeerMessage[] }>('mcap_ros2_read.py', splits);
  expect(sorted(decoded.messages.map(({ topic, log_time, value }) => ({ topic, log_time, value })))).toEqual(
    sorted(rosbags.messages),
  );
  return rosbags.messages;
}

function sorted(messages: PeerMessage[]): string[] {
  return messages.map((m) => JSON.stringify(m)).sort();
}

/**
 * A value our codec decoded, as plain.py writes the peers' values: arrays for typed arrays, non-finite floats as text.
 */
export function plain(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'number')
    return Number.isFinite(value) ? value : Number.isNaN(value) ? 'nan' : value > 0 ? 'inf' : '-inf';
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number>, plain);
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}
