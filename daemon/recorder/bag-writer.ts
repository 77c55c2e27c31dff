import { basename, join } from 'node:path';
import type { TopicQos } from '../bus/index.ts';
import {
  qosProfileV9,
  RETENTION_DELETED_KEY,
  type BagFileInfo,
  type BagMetadata,
  type BagTopic,
} from '../bags/index.ts';
import type { ChunkCompression, Compressor } from './chunk-compression.ts';
import { bagMetadata, retentionNote } from './bag-metadata.ts';
import { addChannel, countMessage, openSplit, shouldSplit, type Split, type SplitFileOptions } from './bag-split.ts';
import { MetadataText } from './metadata-text.ts';
import type { SegmentIO } from './segment-io.ts';

/** The key of metadata.yaml's custom_data under which drops per topic are written (a JSON object). */
export const DROPS_KEY = 'auraison_edge.dropped_messages';
export { RETENTION_DELETED_KEY };

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
  /** The bag is full once it holds this many splits (0: never); see `full()`. */
  bagMaxSplits?: number;
  /** The bag is full once it spans this long, by log time (0: never); see `full()`. */
  bagMaxDurationNs?: bigint;
  /** The schema text (`ros2msg` with dependencies) of a type, or undefined when it is unknown. */
  schemaText: (type: string) => string | undefined;
  /** The RIHS01 type description hash of a type (metadata.yaml's type_description_hash), or undefined. */
  typeHash?: (type: string) => string | undefined;
  /** A topic's type and QoS, for topics written without addTopic (declared at their first message). */
  topicInfo?: (topic: string) => { type: string; qos: TopicQos } | undefined;
  /** Called after a split is closed and its metadata written. */
  onSplitClosed?: (file: string) => void;
  /** The first split index (after a resume, the next free one). */
  firstIndex?: number;
  rosDistro?: string;
}

interface TopicEntry {
  /** messageCount: every message written, the open split's included. */
  meta: BagTopic;
  /** Messages in the finished splits listed in metadata.yaml. */
  listed: number;
}

/** A split that was closed: listed in metadata.yaml once `ended` (its summary and footer are on disk). */
interface FinishedSplit {
  info: BagFileInfo;
  counts: Map<string, number>;
  ended: boolean;
  /** Listed in metadata.yaml and handed to onSplitClosed: from then on it is the lakehouse's to index. */
  handedOver: boolean;
}

/**
 * Writes a rosbag2 bag directory: metadata.yaml (version 9, as Jazzy writes it) and MCAP splits, profile
 * ros2, `ros2msg` schemas with their dependencies, `cdr` messages. `write` is synchronous and only touches
 * memory; closing a split and flushing run in the background, in order. metadata.yaml is rewritten
 * atomically each time a split closes, so every finished split is always listed with its counts; a split
 * that is no longer on disk (retention deleted it) is taken off the list and its messages off the counts.
 * A topic is listed, and gets a channel in a split, once it has a message there.
 *
 * The bag does not grow forever: `full()` tells the caller when to close it and start a new one (a bag
 * rewrites its whole metadata.yaml at each split close, so months in one bag would cost more each time).
 */
export class BagWriter {
  readonly dir: string;
  readonly name: string;
  readonly #typeHash: ((type: string) => string | undefined) | undefined;
  readonly #topicInfo: BagWriterOptions['topicInfo'];
  readonly #rosDistro: string | undefined;
  readonly #io: SegmentIO;
  /** How each split's file is opened and written. */
  readonly #splitFile: SplitFileOptions;
  readonly #schemaText: (type: string) => string | undefined;
  readonly #onSplitClosed: ((file: string) => void) | undefined;
  readonly #bagMaxSplits: number;
  readonly #bagMaxDurationNs: bigint;
  readonly #splitMaxBytes: number;
  readonly #splitMaxDurationNs: bigint;
  #topics = new Map<string, TopicEntry>();
  #files: FinishedSplit[] = [];
  #split: Split | undefined;
  #index: number;
  #closing: Promise<void> = Promise.resolve();
  #drops: Record<string, number> = {};
  /** Splits listed once and since deleted (by retention), kept in custom_data as retention writes them. */
  #deleted: string[] = [];
  #text = new MetadataText();
  /** For the splits' own records (a cache of its own: a split's topics are a subset of the bag's). */
  #splitText = new MetadataText(this.#text);
  /** Whether metadata.yaml has been written once (a bag directory carries one from its first split on). */
  #metadataWritten = false;
  /** The earliest log time in the bag, for `bagMaxDurationNs`. */
  #bagStart: bigint | undefined;
  error: Error | undefined;

  constructor(options: BagWriterOptions) {
    const {
      typeHash,
      topicInfo,
      rosDistro,
      io,
      compression,
      compressor,
      chunkSize,
      chunkCrc,
      schemaText,
      onSplitClosed,
    } = options;
    const { bagMaxSplits = 0, bagMaxDurationNs = 0n, splitMaxBytes, splitMaxDurationNs } = options;
    this.#typeHash = typeHash;
    this.#topicInfo = topicInfo;
    this.#rosDistro = rosDistro;
    this.#io = io;
    this.#splitFile = { io, compression, compressor, chunkSize, chunkCrc };
    this.#schemaText = schemaText;
    this.#onSplitClosed = onSplitClosed;
    this.#bagMaxSplits = bagMaxSplits;
    this.#bagMaxDurationNs = bagMaxDurationNs;
    this.#splitMaxBytes = splitMaxBytes;
    this.#splitMaxDurationNs = splitMaxDurationNs;
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

  /** The open split and the closed ones not yet handed to onSplitClosed (still being ended or listed). */
  get activeFiles(): string[] {
    const files = this.#files.filter((f) => !f.handedOver).map((f) => join(this.dir, f.info.path));
    if (this.#split) files.push(join(this.dir, this.#split.info.path));
    return files;
  }

  /** Whether `topic` has a message in the open split. */
  hasChannel(topic: string): boolean {
    return this.#split?.channels.has(topic) ?? false;
  }

  /** The finished splits, as metadata.yaml lists them. */
  get files(): readonly BagFileInfo[] {
    return this.#files.map((f) => f.info);
  }

  /**
   * Whether a message logged at `logTime` belongs in a new bag: the bag spans `bagMaxDurationNs`, or the
   * open split is due to close and the bag holds `bagMaxSplits` splits with it.
   */
  full(logTime: bigint): boolean {
    const maxDurationNs = this.#bagMaxDurationNs;
    if (maxDurationNs > 0n && this.#bagStart !== undefined && logTime - this.#bagStart >= maxDurationNs) return true;
    const split = this.#split;
    const maxSplits = this.#bagMaxSplits;
    return (
      maxSplits > 0 && split !== undefined && this.#files.length + 1 >= maxSplits && this.#shouldSplit(split, logTime)
    );
  }

  /** Declares a topic; its QoS is written into metadata.yaml and the MCAP channel. */
  addTopic(topic: string, type: string, qos: TopicQos): void {
    if (this.#topics.has(topic)) return;
    this.#topics.set(topic, {
      meta: {
        name: topic,
        type,
        serializationFormat: 'cdr',
        offeredQosProfiles: [qosProfileV9(qos)],
        typeDescriptionHash: this.#typeHash?.(type) ?? '',
        messageCount: 0,
      },
      listed: 0,
    });
  }

  #declare(topic: string): TopicEntry {
    const info = this.#topicInfo?.(topic);
    if (!info) throw new Error(`BagWriter: topic ${topic} was not declared with addTopic`);
    this.addTopic(topic, info.type, info.qos);
    return this.#topics.get(topic)!;
  }

  /** Sets the drop counts written into metadata.yaml (custom_data) at the next metadata write. */
  setDrops(drops: Record<string, number>): void {
    this.#drops = drops;
  }

  write(topic: string, logTime: bigint, publishTime: bigint, data: Uint8Array): void {
    const entry = this.#topics.get(topic) ?? this.#declare(topic);
    let split = this.#split;
    if (split && this.#shouldSplit(split, logTime)) {
      this.#closeSplit();
      split = undefined;
    }
    split ??= this.#openSplit();
    const channelId = split.channels.get(topic) ?? addChannel(split, entry.meta, this.#schemaText);
    split.writer.addMessage(channelId, logTime, publishTime, data);
    countMessage(split, topic, logTime);
    if (this.#bagStart === undefined || logTime < this.#bagStart) this.#bagStart = logTime;
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
    // Nothing recorded: the bag still gets one (empty) split, as rosbag2 closes a bag with no message, so
    // that `ros2 bag play`, `bag info` and MCAP readers open it (a metadata.yaml listing no file is "not a bag").
    if (!this.#split && this.#files.length === 0) this.#openSplit();
    if (this.#split) this.#closeSplit();
    await this.#closing;
    await this.#writeMetadata();
    if (this.error) throw this.error;
  }

  /**
   * Closes the open split now, as a size or duration limit would (rosbag2's `~/split_bagfile`), and
   * resolves once it is ended, listed in metadata.yaml and handed to onSplitClosed (`closedNow`). When the
   * open split holds no message (nothing since the last close; no empty split is written) it resolves the
   * last split closed with messages instead, not closedNow, once that one is handed over too (another
   * request may be closing it this moment): it holds the last message recorded. Undefined when the bag has
   * no message yet. Rejects with the I/O error that stopped the close.
   */
  async splitNow(): Promise<{ info: BagFileInfo; closedNow: boolean } | undefined> {
    const split = this.#split;
    if (!split || split.info.messageCount === 0) {
      await this.#closing;
      if (this.error) throw this.error;
      const last = this.#files.findLast((f) => f.handedOver && f.info.messageCount > 0);
      return last ? { info: { ...last.info }, closedNow: false } : undefined;
    }
    this.#closeSplit();
    await this.#closing;
    if (this.error) throw this.error;
    return { info: { ...split.info }, closedNow: true };
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
    const files = this.#files.map((f) => f.info);
    if (this.#split) files.push(this.#split.info);
    const topics = [...this.#topics.values()].filter((t) => t.meta.messageCount > 0).map((t) => ({ ...t.meta }));
    return this.#describe(files, topics);
  }

  /** metadata.yaml's content for these files and topics (counts as given). */
  #describe(files: BagFileInfo[], topics: BagTopic[]): BagMetadata {
    const drops = Object.fromEntries(Object.entries(this.#drops).filter(([, n]) => n > 0));
    const customData: Record<string, string> = {};
    if (Object.keys(drops).length > 0) customData[DROPS_KEY] = JSON.stringify(drops);
    if (this.#deleted.length > 0) customData[RETENTION_DELETED_KEY] = this.#deleted.join(',');
    return bagMetadata(files, topics, { customData, rosDistro: this.#rosDistro ?? 'jazzy' });
  }

  #shouldSplit(split: Split, logTime: bigint): boolean {
    return shouldSplit(split, logTime, this.#splitMaxBytes, this.#splitMaxDurationNs);
  }

  #openSplit(): Split {
    this.#split = openSplit(this.dir, `${this.name}_${this.#index++}.mcap`, this.#splitFile);
    if (!this.#metadataWritten) {
      this.#metadataWritten = true;
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

  /**
   * Runs inside write() (the bus handler), so it only moves the split to the finished list: its metadata
   * record and the bag's metadata.yaml are formatted in the background, in order with the other closes.
   */
  #closeSplit(): void {
    const split = this.#split!;
    this.#split = undefined;
    const finished: FinishedSplit = { info: split.info, counts: split.counts, ended: false, handedOver: false };
    this.#files.push(finished);
    this.#closing = this.#closing.then(async () => {
      try {
        split.writer.addMetadata(
          'rosbag2',
          new Map([
            ['serialized_metadata', this.#splitMetadata(split)],
            ['ROS_DISTRO', this.#rosDistro ?? 'jazzy'],
          ]),
        );
        await split.writer.end();
        finished.ended = true;
        for (const [name, count] of split.counts) this.#topics.get(name)!.listed += count;
        await this.#writeMetadata();
        finished.handedOver = true;
        // An empty split (a bag that recorded nothing) has nothing to index.
        if (split.info.messageCount > 0) this.#onSplitClosed?.(join(this.dir, split.info.path));
      } catch (error) {
        this.error ??= error as Error;
      }
    });
  }

  /**
   * The `rosbag2` metadata record of a split: this split's own file and topics, so it stays as small as
   * the split whatever the bag's length (rosbag2 readers take the bag's metadata from metadata.yaml). It is the
   * BagMetadata mapping itself, without metadata.yaml's `rosbag2_bagfile_information:` key, as rosbag2's MCAP
   * storage writes it and decodes it when `ros2 bag play` opens the file (wrapped, play fails: "invalid node;
   * first invalid key: version").
   */
  #splitMetadata(split: Split): string {
    const topics: BagTopic[] = [];
    for (const [name, count] of split.counts) topics.push({ ...this.#topics.get(name)!.meta, messageCount: count });
    const text = this.#splitText.format(this.#describe([split.info], topics));
    return text.slice(text.indexOf('\n') + 1).replace(/^ {2}/gm, '');
  }

  async #writeMetadata(): Promise<void> {
    await this.#forgetDeleted();
    // Only ended splits belong in metadata.yaml, with their messages: the open one is not yet a valid file.
    const files = this.#files.filter((f) => f.ended).map((f) => f.info);
    const topics: BagTopic[] = [];
    for (const t of this.#topics.values()) if (t.listed > 0) topics.push({ ...t.meta, messageCount: t.listed });
    await this.#io.writeAtomic(join(this.dir, 'metadata.yaml'), this.#text.format(this.#describe(files, topics)));
  }

  /**
   * Takes the finished splits that are no longer on disk off the list, and their messages off the counts:
   * retention deletes old splits of the bag being recorded and leaves its metadata.yaml to this writer (see
   * RecorderActivity in lakehouse/retention.ts), and a listed file that is missing makes `ros2 bag play`
   * fail. These splits join the note of what retention deleted (custom_data), with any note already there.
   */
  async #forgetDeleted(): Promise<void> {
    if (this.#files.length === 0) return;
    const present = new Set(await this.#io.list(this.dir));
    const gone = this.#files.filter((f) => f.ended && !present.has(f.info.path));
    if (gone.length === 0) return;
    this.#files = this.#files.filter((f) => !gone.includes(f));
    for (const f of gone) {
      for (const [name, count] of f.counts) {
        const entry = this.#topics.get(name)!;
        entry.meta.messageCount -= count;
        entry.listed -= count;
      }
    }
    const noted = await retentionNote(this.#io, this.dir);
    this.#deleted = [...new Set([...this.#deleted, ...noted, ...gone.map((f) => f.info.path)])];
  }
}
