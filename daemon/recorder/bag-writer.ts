import { basename, join } from 'node:path';
import type { TopicQos } from '../bus/types.ts';
import { formatMetadata, NO_START, type BagFileInfo, type BagMetadata, type BagTopic } from '../bags/metadata.ts';
import { qosProfilesText, qosProfileV9 } from '../bags/qos.ts';
import type { ChunkCompression, Compressor } from './chunk-compression.ts';
import { McapSegmentWriter } from './mcap-segment-writer.ts';
import type { SegmentIO } from './segment-io.ts';

/** The key of metadata.yaml's custom_data under which drops per topic are written (a JSON object). */
export const DROPS_KEY = 'auraison_edge.dropped_messages';

export interface BagWriterOptions {
  /** The bag directory; it must exist. Files are `<name>_<i>.mcap` in it. */
  dir: string;
  io: SegmentIO;
  compression: ChunkCompression;
  compressor: Compressor | undefined;
  chunkSize: number;
  /** Compute chunk CRCs (default true). */
  chunkCrc?: boolean;
  /** Start a new split once the current one passes this many bytes (0: never). */
  splitMaxBytes: number;
  /** Start a new split once the current one spans this long (0: never). */
  splitMaxDurationNs: bigint;
  /** The schema text (`ros2msg` with dependencies) of a type, or undefined when it is unknown. */
  schemaText: (type: string) => string | undefined;
  /** The RIHS01 type description hash of a type (metadata.yaml's type_description_hash), or undefined. */
  typeHash?: (type: string) => string | undefined;
  /** Called after a split is closed and its metadata written. */
  onSplitClosed?: (file: string) => void;
  /** The first split index (after a resume, the next free one). */
  firstIndex?: number;
  rosDistro?: string;
}

interface TopicEntry {
  meta: BagTopic;
  channelId: number | undefined;
}

interface Split {
  writer: McapSegmentWriter;
  info: BagFileInfo;
  firstLogTime: bigint | undefined;
  channels: Map<string, number>;
}

/**
 * Writes a rosbag2 bag directory: metadata.yaml (version 9, as Jazzy writes it) and MCAP splits, profile
 * ros2, `ros2msg` schemas with their dependencies, `cdr` messages. `write` is synchronous and only touches
 * memory; closing a split and flushing run in the background, in order. metadata.yaml is rewritten
 * atomically each time a split closes, so every finished split is always listed with its counts.
 */
export class BagWriter {
  readonly dir: string;
  readonly name: string;
  #o: BagWriterOptions;
  #topics = new Map<string, TopicEntry>();
  #files: BagFileInfo[] = [];
  #split: Split | undefined;
  #index: number;
  #closing: Promise<void> = Promise.resolve();
  #drops: Record<string, number> = {};
  error: Error | undefined;

  constructor(options: BagWriterOptions) {
    this.#o = options;
    this.dir = options.dir;
    this.name = basename(options.dir);
    this.#index = options.firstIndex ?? 0;
  }

  /** Bytes accepted but not yet on disk, over the open split and any closing one. */
  get pendingBytes(): number {
    return this.#split?.writer.pendingBytes ?? 0;
  }

  get currentFile(): string | undefined {
    return this.#split ? join(this.dir, this.#split.info.path) : undefined;
  }

  get files(): readonly BagFileInfo[] {
    return this.#files;
  }

  /** Declares a topic; its QoS is written into metadata.yaml and the MCAP channel. */
  addTopic(topic: string, type: string, qos: TopicQos): void {
    if (this.#topics.has(topic)) return;
    this.#topics.set(topic, {
      meta: { name: topic, type, serializationFormat: 'cdr', offeredQosProfiles: [qosProfileV9(qos)], typeDescriptionHash: this.#o.typeHash?.(type) ?? '', messageCount: 0 },
      channelId: undefined,
    });
  }

  /** Sets the drop counts written into metadata.yaml (custom_data) at the next metadata write. */
  setDrops(drops: Record<string, number>): void {
    this.#drops = drops;
  }

  write(topic: string, logTime: bigint, publishTime: bigint, data: Uint8Array): void {
    const entry = this.#topics.get(topic);
    if (!entry) throw new Error(`BagWriter: topic ${topic} was not declared with addTopic`);
    let split = this.#split;
    if (split && this.#shouldSplit(split, logTime)) {
      this.#closeSplit();
      split = undefined;
    }
    split ??= this.#openSplit();
    let channelId = split.channels.get(topic);
    if (channelId === undefined) channelId = this.#addChannel(split, entry);
    split.writer.addMessage(channelId, logTime, publishTime, data);
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
    entry.meta.messageCount++;
  }

  /** Waits until the queued chunks are handed to the file, without an fsync (for producers that can wait). */
  async drain(): Promise<void> {
    await this.#closing;
    await this.#split?.writer.drain();
  }

  /** Makes everything written so far durable. Rejects with the I/O error that stopped the split. */
  async flush(): Promise<void> {
    await this.#closing;
    if (this.error) throw this.error;
    if (this.#split) {
      try {
        await this.#split.writer.flush();
      } catch (error) {
        this.error ??= error as Error;
        throw error;
      }
    }
  }

  /** Closes the open split (summary, fsync) and writes metadata.yaml. */
  async close(): Promise<void> {
    if (this.#split) this.#closeSplit();
    await this.#closing;
    await this.#writeMetadata();
    if (this.error) throw this.error;
  }

  /** After an I/O error: closes the open split without a summary (a repair finishes it). */
  async abandon(): Promise<string | undefined> {
    const split = this.#split;
    this.#split = undefined;
    await this.#closing.catch(() => undefined);
    if (!split) return undefined;
    await split.writer.abandon();
    return join(this.dir, split.info.path);
  }

  /** The metadata as it stands, finished splits and the open one included. */
  metadata(): BagMetadata {
    const files = this.#split ? [...this.#files, this.#split.info] : [...this.#files];
    const withMessages = files.filter((f) => f.messageCount > 0);
    const start = withMessages.length > 0 ? withMessages.reduce((m, f) => (f.startingTimeNs < m ? f.startingTimeNs : m), withMessages[0]!.startingTimeNs) : NO_START;
    const end = withMessages.reduce((m, f) => (f.startingTimeNs + f.durationNs > m ? f.startingTimeNs + f.durationNs : m), 0n);
    const drops = Object.fromEntries(Object.entries(this.#drops).filter(([, n]) => n > 0));
    return {
      version: 9,
      storageIdentifier: 'mcap',
      durationNs: withMessages.length > 0 ? end - start : 0n,
      startingTimeNs: start,
      messageCount: files.reduce((n, f) => n + f.messageCount, 0),
      topics: [...this.#topics.values()].map((t) => ({ ...t.meta })),
      compressionFormat: '',
      compressionMode: '',
      relativeFilePaths: files.map((f) => f.path),
      files: files.map((f) => ({ ...f })),
      customData: Object.keys(drops).length > 0 ? { [DROPS_KEY]: JSON.stringify(drops) } : {},
      rosDistro: this.#o.rosDistro ?? 'jazzy',
    };
  }

  #shouldSplit(split: Split, logTime: bigint): boolean {
    const { splitMaxBytes, splitMaxDurationNs } = this.#o;
    if (split.info.messageCount === 0) return false;
    if (splitMaxBytes > 0 && split.writer.byteLength >= splitMaxBytes) return true;
    return splitMaxDurationNs > 0n && split.firstLogTime !== undefined && logTime - split.firstLogTime >= splitMaxDurationNs;
  }

  #openSplit(): Split {
    const path = `${this.name}_${this.#index++}.mcap`;
    const file = this.#o.io.create(join(this.dir, path));
    const writer = new McapSegmentWriter({ file, compression: this.#o.compression, compressor: this.#o.compressor, chunkSize: this.#o.chunkSize, chunkCrc: this.#o.chunkCrc ?? true, library: 'auraison-edge recorder' });
    this.#split = { writer, info: { path, startingTimeNs: 0n, durationNs: 0n, messageCount: 0 }, firstLogTime: undefined, channels: new Map() };
    if (this.#files.length === 0) {
      // From the first split on, the directory carries a metadata.yaml (listing no file yet), so it is a bag
      // to every tool (and to `bag repair`) even if the recorder is killed before any split closes.
      this.#closing = this.#closing.then(async () => {
        try {
          await this.#writeMetadata();
        } catch (error) {
          this.error ??= error as Error;
        }
      });
    }
    return this.#split;
  }

  #addChannel(split: Split, entry: TopicEntry): number {
    const text = this.#o.schemaText(entry.meta.type);
    const schemaId = text === undefined ? 0 : split.writer.addSchema({ name: entry.meta.type, encoding: 'ros2msg', data: new TextEncoder().encode(text) });
    const qos = entry.meta.offeredQosProfiles as Record<string, unknown>[];
    const channelId = split.writer.addChannel({
      topic: entry.meta.name,
      schemaId,
      messageEncoding: 'cdr',
      metadata: new Map([
        ['offered_qos_profiles', qosProfilesText({ reliability: qos[0]!.reliability as TopicQos['reliability'], durability: qos[0]!.durability as TopicQos['durability'], depth: qos[0]!.depth as number })],
        ['topic_type_hash', entry.meta.typeDescriptionHash],
      ]),
    });
    split.channels.set(entry.meta.name, channelId);
    return channelId;
  }

  #closeSplit(): void {
    const split = this.#split!;
    this.#split = undefined;
    this.#files.push(split.info);
    const meta = formatMetadata(this.metadata());
    split.writer.addMetadata('rosbag2', new Map([['serialized_metadata', meta], ['ROS_DISTRO', this.#o.rosDistro ?? 'jazzy']]));
    this.#closing = this.#closing.then(async () => {
      try {
        await split.writer.end();
        await this.#writeMetadata();
        this.#o.onSplitClosed?.(join(this.dir, split.info.path));
      } catch (error) {
        this.error ??= error as Error;
      }
    });
  }

  async #writeMetadata(): Promise<void> {
    const meta = this.metadata();
    // Only finished splits belong in metadata.yaml: the open one is not yet a valid file.
    if (this.#split) {
      const open = this.#split.info.path;
      meta.relativeFilePaths = meta.relativeFilePaths.filter((p) => p !== open);
      meta.files = meta.files.filter((f) => f.path !== open);
      meta.messageCount -= this.#split.info.messageCount;
    }
    await this.#o.io.writeAtomic(join(this.dir, 'metadata.yaml'), formatMetadata(meta));
  }
}
