import { open, type FileHandle } from 'node:fs/promises';
import { McapIndexedReader, McapStreamReader, type DecompressHandlers, type TypedMcapRecord } from '@mcap/core';
import { loadDecompressHandlers } from '@mcap/support';
import { BagError } from './errors.ts';
import type { StorageFileReader, StorageMessage, StorageSummary, StorageTopic } from './storage-reader.ts';

const READ_SIZE = 4 * 1024 * 1024;

/**
 * Reads an MCAP file of a rosbag2 bag. Messages are streamed in file order with CRCs checked, so a
 * truncated or corrupt file is reported at the place it breaks, and unindexed files read as well as
 * indexed ones.
 */
export class McapFileReader implements StorageFileReader {
  readonly path: string;
  readonly storage = 'mcap' as const;
  #fh: FileHandle;
  #size: number;
  #topics = new Map<string, StorageTopic>();
  #decompress: DecompressHandlers;

  private constructor(path: string, fh: FileHandle, size: number, decompress: DecompressHandlers) {
    this.path = path;
    this.#fh = fh;
    this.#size = size;
    this.#decompress = decompress;
  }

  static async open(path: string): Promise<McapFileReader> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (error) {
      throw new BagError(path, `cannot open: ${(error as Error).message}`);
    }
    const { size } = await fh.stat();
    const magic = new Uint8Array(8);
    await fh.read(magic, 0, 8, 0);
    if (size < 8 || !(magic[0] === 0x89 && magic[1] === 0x4d && magic[2] === 0x43 && magic[3] === 0x41 && magic[4] === 0x50)) {
      await fh.close();
      throw new BagError(path, size === 0 ? 'the file is empty, not an MCAP file' : 'not an MCAP file (no MCAP magic at its start)');
    }
    return new McapFileReader(path, fh, size, await loadDecompressHandlers());
  }

  topics(): Map<string, StorageTopic> {
    return this.#topics;
  }

  async summary(): Promise<StorageSummary | undefined> {
    let reader: McapIndexedReader;
    try {
      reader = await McapIndexedReader.Initialize({ readable: this.#readable(), decompressHandlers: this.#decompress });
    } catch {
      return undefined; // no footer or summary (truncated, or written unindexed): the caller scans instead
    }
    const stats = reader.statistics;
    if (!stats) return undefined;
    const topics: StorageSummary['topics'] = [];
    for (const channel of reader.channelsById.values()) {
      const schema = reader.schemasById.get(channel.schemaId);
      const topic = this.#topic(channel.topic, channel.messageEncoding, channel.metadata, schema);
      this.#topics.set(topic.name, topic);
      topics.push({ ...topic, messageCount: Number(stats.channelMessageCounts.get(channel.id) ?? 0n) });
    }
    const empty = stats.messageCount === 0n;
    return { messageCount: Number(stats.messageCount), startNs: empty ? undefined : stats.messageStartTime, endNs: empty ? undefined : stats.messageEndTime, topics };
  }

  async *messages(): AsyncGenerator<StorageMessage> {
    const reader = new McapStreamReader({ includeChunks: true, decompressHandlers: this.#decompress, validateCrcs: true });
    const schemas = new Map<number, { name: string; encoding: string; data: Uint8Array }>();
    const channels = new Map<number, string>();
    const buffer = new Uint8Array(READ_SIZE);
    let position = 0;
    let chunkOffset = -1n;
    let chunkEnd = -1;
    while (position < this.#size) {
      const { bytesRead } = await this.#fh.read(buffer, 0, READ_SIZE, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      reader.append(buffer.subarray(0, bytesRead));
      for (;;) {
        const before = position - reader.bytesRemaining();
        let record: TypedMcapRecord | undefined;
        try {
          record = reader.nextRecord();
        } catch (error) {
          throw new BagError(this.path, `corrupt MCAP near byte ${before}: ${(error as Error).message}`);
        }
        if (!record) break;
        switch (record.type) {
          case 'Schema':
            schemas.set(record.id, record);
            break;
          case 'Channel': {
            channels.set(record.id, record.topic);
            if (!this.#topics.has(record.topic)) {
              this.#topics.set(record.topic, this.#topic(record.topic, record.messageEncoding, record.metadata, schemas.get(record.schemaId)));
            }
            break;
          }
          case 'Chunk':
            chunkOffset = BigInt(before);
            chunkEnd = position - reader.bytesRemaining();
            break;
          case 'Message': {
            const topic = channels.get(record.channelId);
            if (topic === undefined) throw new BagError(this.path, `corrupt MCAP: a message refers to channel ${record.channelId}, which was never declared`);
            yield { topic, logTime: record.logTime, publishTime: record.publishTime, data: record.data, offset: before === chunkEnd ? chunkOffset : BigInt(before) };
            break;
          }
          default:
            break;
        }
      }
    }
    if (!reader.done()) {
      throw new BagError(this.path, `truncated MCAP: it ends at byte ${this.#size} without its footer (run \`auraison-edge bag repair\` on its bag to recover what it holds)`);
    }
  }

  async close(): Promise<void> {
    await this.#fh.close();
  }

  #topic(name: string, encoding: string, metadata: Map<string, string>, schema: { name: string; encoding: string; data: Uint8Array } | undefined): StorageTopic {
    return {
      name,
      type: schema?.name ?? '',
      serializationFormat: encoding,
      offeredQosProfiles: metadata.get('offered_qos_profiles') ?? '',
      typeDescriptionHash: metadata.get('topic_type_hash') ?? '',
      schema: schema && schema.data.byteLength > 0 ? { encoding: schema.encoding, text: new TextDecoder().decode(schema.data) } : undefined,
    };
  }

  #readable() {
    const fh = this.#fh;
    const size = this.#size;
    return {
      size: async () => BigInt(size),
      read: async (offset: bigint, length: bigint) => {
        const out = new Uint8Array(Number(length));
        await fh.read(out, 0, out.byteLength, Number(offset));
        return out;
      },
    };
  }
}
