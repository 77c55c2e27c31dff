import { statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { recordingStem } from './recording-files.ts';
import { checkStorageFile } from './file-check.ts';
import { locateBag, openBagFile, type StorageId } from './open-bag.ts';
import { NO_START, type BagMetadata } from './metadata.ts';

export interface BagTopicInfo {
  name: string;
  type: string;
  count: number;
  serializationFormat: string;
}

/** What `ros2 bag info` shows about a bag. */
export interface BagInfo {
  path: string;
  storage: StorageId;
  rosDistro: string;
  files: { path: string; size: number }[];
  bagSize: number;
  durationNs: bigint;
  startNs: bigint | undefined;
  endNs: bigint | undefined;
  messageCount: number;
  /** Topics, service-event topics (`.../_service_event`) left out. */
  topics: BagTopicInfo[];
  services: BagTopicInfo[];
  /** Where the figures come from: metadata.yaml, or the storage files themselves. */
  source: 'metadata' | 'storage';
  warnings: string[];
  /** A bag being recorded: by which process, and its open split (not in the figures, which are the closed splits'). */
  recording?: { pid: number; open: { path: string; size: number }[] };
}

const SERVICE_EVENT = '/_service_event';

/**
 * Reads a bag's figures as `ros2 bag info` does: from metadata.yaml when it is there and names files that
 * exist; otherwise from the storage files' own indexes, reading every message only where there is none.
 * Each file's start and end are checked first (checkStorageFile): a damaged file is an error, not figures.
 */
export async function bagInfo(path: string): Promise<BagInfo> {
  const bag = locateBag(path);
  // metadata.yaml's figures are only as good as the files: a damaged start or end is reported, not hidden.
  // A file named as a split of the directory it is in is repaired with its bag; any other file on its own.
  const repairs =
    bag.path === bag.files[0] && recordingStem(basename(bag.path)) === basename(dirname(bag.path))
      ? dirname(bag.path)
      : bag.path;
  for (const file of bag.files) await checkStorageFile(file, bag.storage, repairs);
  const files = bag.files.map((f) => ({ path: f, size: statSync(f).size }));
  const bagSize = files.reduce((n, f) => n + f.size, 0);
  const meta = bag.metadata;
  if (meta && bag.warnings.length === 0) return metadataInfo(bag.path, bag.storage, meta, files);
  const counts = new Map<string, BagTopicInfo>();
  let messageCount = 0;
  let startNs: bigint | undefined;
  let endNs: bigint | undefined;
  const widen = (lo: bigint | undefined, hi: bigint | undefined) => {
    if (lo !== undefined && (startNs === undefined || lo < startNs)) startNs = lo;
    if (hi !== undefined && (endNs === undefined || hi > endNs)) endNs = hi;
  };
  for (const file of bag.files) {
    const reader = await openBagFile(bag, file);
    try {
      const summary = await reader.summary();
      if (summary) {
        messageCount += summary.messageCount;
        widen(summary.startNs, summary.endNs);
        for (const t of summary.topics) add(counts, t.name, t.type, t.serializationFormat, t.messageCount);
      } else {
        for await (const m of reader.messages()) {
          const t = reader.topics().get(m.topic)!;
          add(counts, t.name, t.type, t.serializationFormat, 1);
          messageCount++;
          widen(m.logTime, m.logTime);
        }
      }
      for (const t of reader.topics().values()) add(counts, t.name, t.type, t.serializationFormat, 0);
    } finally {
      await reader.close();
    }
  }
  return {
    path: bag.path,
    storage: bag.storage,
    rosDistro: meta?.rosDistro ?? '',
    files,
    bagSize,
    durationNs: startNs !== undefined && endNs !== undefined ? endNs - startNs : 0n,
    startNs,
    endNs,
    messageCount,
    ...splitServices([...counts.values()]),
    source: 'storage',
    warnings: bag.warnings,
  };
}

/** A bag's figures as its metadata.yaml gives them, for `files`. */
export function metadataInfo(
  path: string,
  storage: StorageId,
  meta: BagMetadata,
  files: { path: string; size: number }[],
  warnings: string[] = [],
): BagInfo {
  const empty = meta.messageCount === 0 || meta.startingTimeNs === NO_START;
  const topics = meta.topics.map((t) => ({
    name: t.name,
    type: t.type,
    count: t.messageCount,
    serializationFormat: t.serializationFormat,
  }));
  return {
    path,
    storage,
    rosDistro: meta.rosDistro,
    files,
    bagSize: files.reduce((n, f) => n + f.size, 0),
    durationNs: meta.durationNs,
    startNs: empty ? undefined : meta.startingTimeNs,
    endNs: empty ? undefined : meta.startingTimeNs + meta.durationNs,
    messageCount: meta.messageCount,
    ...splitServices(topics),
    source: 'metadata',
    warnings,
  };
}

function add(
  counts: Map<string, BagTopicInfo>,
  name: string,
  type: string,
  serializationFormat: string,
  n: number,
): void {
  const entry = counts.get(name);
  if (entry) entry.count += n;
  else counts.set(name, { name, type, count: n, serializationFormat });
}

function splitServices(all: BagTopicInfo[]): { topics: BagTopicInfo[]; services: BagTopicInfo[] } {
  return {
    topics: all.filter((t) => !t.name.endsWith(SERVICE_EVENT)),
    services: all.filter((t) => t.name.endsWith(SERVICE_EVENT)),
  };
}

/** The text `ros2 bag info` prints (Jazzy layout). */
export function formatBagInfo(info: BagInfo): string {
  const label = (s: string) => `${s}:`.padEnd(19);
  const open = (info.recording?.open ?? []).map(
    (f) => `${basename(f.path)} (open: being written, ${formatSize(f.size)})`,
  );
  const lines = [
    ...(info.recording
      ? [
          `${label('Recording')}being recorded by process ${info.recording.pid}; the figures below are of its closed splits`,
        ]
      : []),
    `${label('Files')}${[...info.files.map((f) => basename(f.path)), ...open].join('\n' + ' '.repeat(19))}`,
    `${label('Bag size')}${formatSize(info.bagSize)}`,
    `${label('Storage id')}${info.storage}`,
    `${label('ROS Distro')}${info.rosDistro || 'unknown'}`,
    `${label('Duration')}${formatSeconds(info.durationNs)}s`,
    `${label('Start')}${info.startNs === undefined ? '-' : formatTime(info.startNs)}`,
    `${label('End')}${info.endNs === undefined ? '-' : formatTime(info.endNs)}`,
    `${label('Messages')}${info.messageCount}`,
    `${label('Topic information')}${info.topics.map((t) => `Topic: ${t.name} | Type: ${t.type} | Count: ${t.count} | Serialization Format: ${t.serializationFormat}`).join('\n' + ' '.repeat(19))}`,
    `${label('Service')}${info.services.length}`,
    `${'Service information: '}${info.services.map((t) => `Service: ${t.name.slice(0, -'/_service_event'.length)} | Type: ${t.type.replace(/_Event$/, '')} | Event Count: ${t.count} | Serialization Format: ${t.serializationFormat}`).join('\n' + ' '.repeat(21))}`,
  ];
  return `\n${lines.join('\n')}\n`;
}

export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${i === 0 ? value : value.toFixed(1)} ${units[i]}`;
}

function formatSeconds(ns: bigint): string {
  const sign = ns < 0n ? '-' : '';
  const abs = ns < 0n ? -ns : ns;
  return `${sign}${abs / 1_000_000_000n}.${(abs % 1_000_000_000n).toString().padStart(9, '0')}`;
}

function formatTime(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const date = new Date(ms);
  const month = date.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  const pad = (n: number) => String(n).padStart(2, '0');
  const text = `${month} ${String(date.getUTCDate()).padStart(2, ' ')} ${date.getUTCFullYear()} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}`;
  return `${text} (${formatSeconds(ns)})`;
}
