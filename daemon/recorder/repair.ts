import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { McapStreamReader, type DecompressHandlers, type TypedMcapRecords } from '@mcap/core';
import { decompressHandlers } from '../bags/decompress.ts';
import { BagError } from '../bags/errors.ts';
import { formatMetadata, NO_START, parseMetadata, type BagFileInfo, type BagMetadata, type BagTopic } from '../bags/metadata.ts';
import { parseOfferedQos, qosProfileV9 } from '../bags/qos.ts';
import { McapSegmentWriter } from './mcap-segment-writer.ts';
import { fsSegmentIO, type SegmentIO } from './segment-io.ts';

export interface FileRepair {
  file: string;
  /** `intact`: had its footer and summary; `repaired`: rewritten from its readable records. */
  state: 'intact' | 'repaired';
  messages: number;
  /** Bytes at the end that held no complete record (lost). */
  droppedBytes: number;
}

export interface BagRepair {
  dir: string;
  files: FileRepair[];
  messageCount: number;
}

interface Scan {
  complete: boolean;
  schemas: Map<number, TypedMcapRecords['Schema']>;
  channels: Map<number, TypedMcapRecords['Channel']>;
  counts: Map<number, number>;
  start: bigint | undefined;
  end: bigint | undefined;
  messages: number;
  goodBytes: number;
}

/**
 * Repairs a recorded bag after a crash: each MCAP split that lacks its footer is rewritten from the
 * records it holds up to the first incomplete or corrupt one (the open chunk's messages, at most one
 * flush interval, are what is lost), then metadata.yaml is rebuilt from the files. Finished splits are
 * left as they are. Safe to run again: an interrupted repair leaves the original file in place.
 */
export async function repairBag(dir: string, options: { io?: SegmentIO } = {}): Promise<BagRepair> {
  const { io = fsSegmentIO } = options;
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new BagError(dir, 'not a bag directory');
  const names = readdirSync(dir).filter((f) => extname(f) === '.mcap').sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  if (names.length === 0) {
    if (readdirSync(dir).some((f) => extname(f) === '.db3')) throw new BagError(dir, 'sqlite3 bags need no repair here: SQLite recovers its own journal on open');
    throw new BagError(dir, 'no .mcap files to repair');
  }
  const metaPath = join(dir, 'metadata.yaml');
  let previous: BagMetadata | undefined;
  try {
    previous = existsSync(metaPath) ? parseMetadata(readFileSync(metaPath, 'utf8'), metaPath) : undefined;
  } catch {
    previous = undefined; // a metadata.yaml torn by the crash is rebuilt from the files
  }
  const decompress = await decompressHandlers();
  const result: FileRepair[] = [];
  const files: BagFileInfo[] = [];
  const topics = new Map<string, BagTopic>();
  for (const name of names) {
    const path = join(dir, name);
    let scan = await scanFile(path, decompress);
    let state: FileRepair['state'] = 'intact';
    const size = statSync(path).size;
    if (!scan.complete) {
      await rewrite(path, scan, decompress, io);
      state = 'repaired';
      scan = await scanFile(path, decompress);
    }
    if (scan.messages === 0 && state === 'repaired') {
      await unlink(path); // nothing was recorded in it before the crash: an empty split is noise
      result.push({ file: path, state, messages: 0, droppedBytes: size });
      continue;
    }
    result.push({ file: path, state, messages: scan.messages, droppedBytes: state === 'repaired' ? size - scan.goodBytes : 0 });
    files.push({ path: name, startingTimeNs: scan.start ?? 0n, durationNs: scan.start !== undefined ? scan.end! - scan.start : 0n, messageCount: scan.messages });
    for (const [id, channel] of scan.channels) {
      const schema = scan.schemas.get(channel.schemaId);
      const entry = topics.get(channel.topic) ?? {
        name: channel.topic,
        type: schema?.name ?? '',
        serializationFormat: channel.messageEncoding,
        offeredQosProfiles: [qosProfileV9(parseOfferedQos(channel.metadata.get('offered_qos_profiles')) ?? { reliability: 'reliable', durability: 'volatile', depth: 10 })],
        typeDescriptionHash: channel.metadata.get('topic_type_hash') ?? '',
        messageCount: 0,
      };
      entry.messageCount += scan.counts.get(id) ?? 0;
      topics.set(channel.topic, entry);
    }
  }
  const withMessages = files.filter((f) => f.messageCount > 0);
  const start = withMessages.length ? withMessages.reduce((m, f) => (f.startingTimeNs < m ? f.startingTimeNs : m), withMessages[0]!.startingTimeNs) : NO_START;
  const end = withMessages.reduce((m, f) => (f.startingTimeNs + f.durationNs > m ? f.startingTimeNs + f.durationNs : m), 0n);
  const meta: BagMetadata = {
    version: 9,
    storageIdentifier: 'mcap',
    durationNs: withMessages.length ? end - start : 0n,
    startingTimeNs: start,
    messageCount: files.reduce((n, f) => n + f.messageCount, 0),
    topics: [...topics.values()],
    compressionFormat: '',
    compressionMode: '',
    relativeFilePaths: files.map((f) => f.path),
    files,
    customData: previous?.customData ?? {},
    rosDistro: previous?.rosDistro || 'jazzy',
  };
  await io.writeAtomic(metaPath, formatMetadata(meta));
  return { dir, files: result, messageCount: meta.messageCount };
}

async function scanFile(path: string, decompressHandlers: DecompressHandlers): Promise<Scan> {
  const scan: Scan = { complete: false, schemas: new Map(), channels: new Map(), counts: new Map(), start: undefined, end: undefined, messages: 0, goodBytes: 0 };
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const reader = new McapStreamReader({ decompressHandlers, validateCrcs: true, includeChunks: true });
    const buffer = new Uint8Array(4 * 1024 * 1024);
    let position = 0;
    // Counts only messages of chunks that end up complete: a chunk is all or nothing.
    while (position < size) {
      const { bytesRead } = await fh.read(buffer, 0, buffer.byteLength, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      try {
        reader.append(buffer.subarray(0, bytesRead));
        for (let r; (r = reader.nextRecord()); ) {
          if (r.type === 'Schema') scan.schemas.set(r.id, r);
          else if (r.type === 'Channel') scan.channels.set(r.id, r);
          else if (r.type === 'Message') {
            scan.messages++;
            scan.counts.set(r.channelId, (scan.counts.get(r.channelId) ?? 0) + 1);
            if (scan.start === undefined || r.logTime < scan.start) scan.start = r.logTime;
            if (scan.end === undefined || r.logTime > scan.end) scan.end = r.logTime;
          }
          scan.goodBytes = position - reader.bytesRemaining();
        }
      } catch {
        return scan; // corrupt from here on: what came before is what can be saved
      }
    }
    scan.complete = reader.done();
    return scan;
  } finally {
    await fh.close();
  }
}

async function rewrite(path: string, scan: Scan, decompressHandlers: DecompressHandlers, io: SegmentIO): Promise<void> {
  const tmp = `${path}.repairing`;
  if (existsSync(tmp)) await unlink(tmp);
  const writer = new McapSegmentWriter({ file: io.create(tmp), library: 'auraison-edge repair' });
  const schemaIds = new Map<number, number>();
  const channelIds = new Map<number, number>();
  const fh = await open(path, 'r');
  try {
    const reader = new McapStreamReader({ decompressHandlers, validateCrcs: true });
    const buffer = new Uint8Array(4 * 1024 * 1024);
    let position = 0;
    while (position < scan.goodBytes) {
      const { bytesRead } = await fh.read(buffer, 0, Math.min(buffer.byteLength, scan.goodBytes - position), position);
      if (bytesRead === 0) break;
      position += bytesRead;
      reader.append(buffer.subarray(0, bytesRead));
      for (let r; (r = reader.nextRecord()); ) {
        if (r.type === 'Schema' && !schemaIds.has(r.id)) schemaIds.set(r.id, writer.addSchema({ name: r.name, encoding: r.encoding, data: r.data }));
        else if (r.type === 'Channel' && !channelIds.has(r.id)) {
          channelIds.set(r.id, writer.addChannel({ topic: r.topic, schemaId: schemaIds.get(r.schemaId) ?? 0, messageEncoding: r.messageEncoding, metadata: r.metadata }));
        } else if (r.type === 'Message') {
          writer.addMessage(channelIds.get(r.channelId)!, r.logTime, r.publishTime, r.data.slice());
          if (writer.pendingBytes > 64 * 1024 * 1024) await writer.flush();
        }
      }
    }
  } finally {
    await fh.close();
  }
  await writer.end();
  await rename(tmp, path);
}
