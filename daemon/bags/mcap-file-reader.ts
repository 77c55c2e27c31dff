import { open, type FileHandle } from 'node:fs/promises';
import { McapIndexedReader, type DecompressHandlers } from '@mcap/core';
import { decompressHandlers } from './decompress.ts';
import { BagError } from './errors.ts';
import { McapFormatError, readMcap, type McapChannel, type McapSchema } from './mcap-stream.ts';
import type { StorageFileReader, StorageMessage, StorageSummary, StorageTopic } from './storage-reader.ts';
import { errorText } from '../util/index.ts';

/**
 * Reads an MCAP file of a rosbag2 bag. Messages are streamed in file order with CRCs checked (readMcap),
 * so a truncated or corrupt file is reported at the place it breaks, and unindexed files read as well as
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
      throw new BagError(path, `cannot open: ${errorText(error)}`);
    }
    const { size } = await fh.stat();
    const magic = new Uint8Array(8);
    await fh.read(magic, 0, 8, 0);
    if (
      size < 8 ||
      !(magic[0] === 0x89 && magic[1] === 0x4d && magic[2] === 0x43 && magic[3] === 0x41 && magic[4] === 0x50)
    ) {
      await fh.close();
      throw new BagError(
        path,
        size === 0 ? 'the file is empty, not an MCAP file' : 'not an MCAP file (no MCAP magic at its start)',
      );
    }
    return new McapFileReader(path, fh, size, await decompressHandlers());
  }

  /** Loads the chunk decompressors (wasm, once per process) ahead of the first open, so it overlaps other setup. */
  static async prepare(): Promise<void> {
    await decompressHandlers();
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
    return {
      messageCount: Number(stats.messageCount),
      startNs: empty ? undefined : stats.messageStartTime,
      endNs: empty ? undefined : stats.messageEndTime,
      topics,
    };
  }

  async *messages(): AsyncGenerator<StorageMessage> {
    for await (const batch of this.batches()) yield* batch;
  }

  async *batches(): AsyncGenerator<StorageMessage[]> {
    const onChannel = (c: McapChannel, schema: McapSchema | undefined): void => {
      if (!this.#topics.has(c.topic))
        this.#topics.set(c.topic, this.#topic(c.topic, c.messageEncoding, c.metadata, schema));
    };
    try {
      yield* readMcap(this.#fh, this.#size, this.#decompress, onChannel); // its messages are StorageMessages
    } catch (error) {
      if (!(error instanceof McapFormatError)) throw error;
      if (error.truncated)
        throw new BagError(
          this.path,
          `truncated MCAP: ${error.message} (run \`auraison-edge bag repair\` on its bag to recover what it holds)`,
        );
      const { chunk, offset } = error;
      const where = !chunk
        ? `near byte ${offset}`
        : offset === chunk.start
          ? `in the chunk at bytes ${chunk.start} to ${chunk.end}`
          : `near byte ${offset} (in the chunk at bytes ${chunk.start} to ${chunk.end})`;
      throw new BagError(
        this.path,
        `corrupt MCAP ${where}: ${error.message} (\`auraison-edge bag repair\` on its bag recovers the chunks that still check)`,
      );
    }
  }

  /**
   * The messages in log-time order, as rosbag2's MCAP storage reads them for `ros2 bag play`, when the
   * file's chunks overlap in time (a writer that chunks per topic, a conversion that writes topic by topic):
   * read through the summary's indexes, a chunk at a time as the order needs it. Undefined when the chunks
   * follow one another in time (file order is log-time order, and `batches()` reads it), or the file has
   * no usable index (a cut-off file: file order it is).
   */
  async logTimeOrdered(): Promise<AsyncGenerator<StorageMessage[]> | undefined> {
    let reader: McapIndexedReader;
    try {
      reader = await McapIndexedReader.Initialize({ readable: this.#readable(), decompressHandlers: this.#decompress });
    } catch {
      return undefined;
    }
    const chunks = [...reader.chunkIndexes].sort((a, b) => (a.chunkStartOffset < b.chunkStartOffset ? -1 : 1));
    let end: bigint | undefined;
    let overlap = false;
    for (const c of chunks) {
      if (end !== undefined && c.messageStartTime < end) overlap = true;
      if (end === undefined || c.messageEndTime > end) end = c.messageEndTime;
    }
    if (!overlap) return undefined;
    const byChannel = this.#channelTopics(reader);
    return (async function* () {
      let batch: StorageMessage[] = [];
      for await (const m of reader.readMessages()) {
        batch.push({
          topic: byChannel.get(m.channelId) ?? '',
          logTime: m.logTime,
          publishTime: m.publishTime,
          data: m.data,
          offset: 0n,
        });
        if (batch.length >= 256) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
    })();
  }

  /**
   * The messages of `topics` with log times in [startNs, endNs], in log-time order, read through the file's chunk
   * index: only the chunks that overlap the window are read (an export of a minute of camera from an hour's split).
   * Undefined when the file has no usable index (a cut-off file: read it all with batches()).
   */
  async indexedWindow(
    topics: readonly string[],
    startNs: bigint,
    endNs: bigint,
  ): Promise<AsyncGenerator<StorageMessage> | undefined> {
    let reader: McapIndexedReader;
    try {
      reader = await McapIndexedReader.Initialize({ readable: this.#readable(), decompressHandlers: this.#decompress });
    } catch {
      return undefined;
    }
    const byChannel = this.#channelTopics(reader);
    return (async function* () {
      for await (const m of reader.readMessages({ topics, startTime: startNs, endTime: endNs })) {
        yield {
          topic: byChannel.get(m.channelId) ?? '',
          logTime: m.logTime,
          publishTime: m.publishTime,
          data: m.data,
          offset: 0n,
        };
      }
    })();
  }

  /** Each channel's topic, by channel id; the topics learnt from the index are kept for topics(). */
  #channelTopics(reader: McapIndexedReader): Map<number, string> {
    const byChannel = new Map<number, string>();
    for (const channel of reader.channelsById.values()) {
      const topic = this.#topic(
        channel.topic,
        channel.messageEncoding,
        channel.metadata,
        reader.schemasById.get(channel.schemaId),
      );
      this.#topics.set(topic.name, topic);
      byChannel.set(channel.id, channel.topic);
    }
    return byChannel;
  }

  async close(): Promise<void> {
    await this.#fh.close();
  }

  #topic(
    name: string,
    encoding: string,
    metadata: Map<string, string>,
    schema: { name: string; encoding: string; data: Uint8Array } | undefined,
  ): StorageTopic {
    return {
      name,
      type: schema?.name ?? '',
      serializationFormat: encoding,
      offeredQosProfiles: metadata.get('offered_qos_profiles') ?? '',
      typeDescriptionHash: metadata.get('topic_type_hash') ?? '',
      schema:
        schema && schema.data.byteLength > 0
          ? { encoding: schema.encoding, text: new TextDecoder().decode(schema.data) }
          : undefined,
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
