import type { Logger } from 'pino';
import type { Sample } from '@eclipse-zenoh/zenoh-ts';
import type { Bus, MessageCodec, Publisher, TopicQos } from '../../daemon/bus/index.ts';
import { errorText, nowNs } from '../../daemon/util/index.ts';
import { AdvancedHistory } from './advanced-subscriber.ts';
import type { BulkLane } from './bulk-lane.ts';
import type { LaneSample } from './bulk-lane-messages.ts';
import type { PublishedTopic } from './graph-discovery.ts';
import type { Mapping } from './mapping.ts';
import { decodeAttachment } from './rmw-zenoh-keys.ts';
import type { Handle, ZenohLink } from './zenoh-link.ts';

export interface InboundCounters {
  received: number;
  delivered: number;
  /** Not CDR (no encapsulation header), or not the topic's type: dropped. */
  malformed: number;
  /** Samples the daemon published itself, heard back: dropped. */
  echoes: number;
  /** A transient_local sample heard both from the history query and live: delivered once. */
  duplicates: number;
  /** Larger than zenoh.max_inbound_sample_bytes: dropped. */
  oversize: number;
  /**
   * Samples a publisher sent that never came: the gaps in its sequence numbers (rmw_zenoh's attachment). Zenoh drops
   * a sample on its way when its publisher's congestion control is `drop` (eclipse-zenoh's default) and a queue is
   * full, as it is for a sample of many MiB: the publisher and the router count nothing we can see.
   */
  lost: number;
}

/** A sample as a topic checks it: from zenoh-ts on the daemon's thread, or from the bulk lane's (LaneSample). */
interface Received {
  size: number;
  /** Its bytes; undefined for a lane's notice of a sample over the size it passes on. */
  payload(): Uint8Array | undefined;
  attachment(): Uint8Array | undefined;
  stamp(): string | undefined;
}

/** A sample's HLC timestamp as one string, where it has one: an HLC never gives one twice. */
export function stampOf(sample: Sample): string | undefined {
  const stamp = sample.timestamp();
  return stamp === undefined ? undefined : `${stamp.getId().toString()}/${stamp.getNtp64()}`;
}

const fromZenoh = (sample: Sample): Received => ({
  size: sample.payload().len(),
  payload: () => sample.payload().toBytes(),
  attachment: () => sample.attachment()?.toBytes(),
  stamp: () => stampOf(sample),
});

const fromLane = (sample: LaneSample): Received => ({
  size: sample.size,
  payload: () => sample.payload,
  attachment: () => sample.attachment,
  stamp: () => sample.stamp,
});

/** Publishers whose last sequence number is kept, for `lost`: the oldest is forgotten past it. */
const PUBLISHERS_TRACKED = 256;

/** Whether `data` starts with a CDR encapsulation header (PLAIN_CDR/PL_CDR/CDR2 in either byte order). */
export function hasCdrHeader(data: Uint8Array): boolean {
  return data.length >= 4 && data[0] === 0 && data[1]! <= 0x0b;
}

/**
 * One topic of the graph on the bus: a Zenoh subscriber whose samples are published on the bus as they are
 * (CDR bytes, never re-encoded), under source `zenoh`. A sample is checked at the boundary: its CDR header
 * always, and small samples of known types by decoding them once; a bad one is counted and dropped, and the
 * topic goes on. A transient_local topic also asks the publishers' caches for their last samples, so a
 * daemon that joins late gets `/tf_static` and `/map`. A bulk topic's live samples come through the bulk lane's
 * thread (`lane`), their bytes in shared memory: checked as any sample's and published as they are, never copied.
 */
export class InboundTopic {
  readonly name: string;
  readonly rosType: string;
  readonly counters: InboundCounters = {
    received: 0,
    delivered: 0,
    malformed: 0,
    echoes: 0,
    duplicates: 0,
    oversize: 0,
    lost: 0,
  };
  lastError: string | undefined;
  #link: ZenohLink;
  #dataLink: ZenohLink;
  #lane: Pick<BulkLane, 'declareSubscriber'> | undefined;
  #mapping: Mapping;
  #codec: MessageCodec;
  #validate: boolean;
  #validateMaxBytes: number;
  #maxSampleBytes: number;
  #onOversize: (topic: string, bytes: number) => void;
  #ownGids: ReadonlySet<string>;
  #log: Logger;
  #qos: TopicQos;
  #publisher: Publisher;
  #subscriber: Handle | undefined;
  #announce: (() => string) | undefined;
  #token: Handle | undefined;
  #history: AdvancedHistory | undefined;

  /** A transient_local topic's history queries (asked, ended); undefined for a volatile one. */
  get historyQueries(): { asked: number; ended: number } | undefined {
    return this.#history && { ...this.#history.queries };
  }

  /** Last sequence number per publisher GID: gaps are `lost`; transient_local's history and live samples meet. */
  #lastSeq = new Map<string, bigint>();
  /**
   * The HLC timestamps of the last transient_local samples, for the same sample heard twice where no attachment
   * says its sequence number (zenoh-bridge-ros2dds): from two caches' answers, or from a cache and live. A
   * zenoh-ext cache refuses to run without timestamping, so every sample it keeps has one, and an HLC never
   * gives one twice.
   */
  #seenStamps = new Set<string>();

  constructor(options: {
    link: ZenohLink;
    /** The link its live samples come through: `link`, or a session that sends nothing while they flow. */
    dataLink?: ZenohLink;
    /** The bulk lane's thread, which receives the live samples instead of `dataLink` (a bulk topic's). */
    lane?: Pick<BulkLane, 'declareSubscriber'>;
    bus: Bus;
    mapping: Mapping;
    topic: PublishedTopic;
    codec: MessageCodec;
    knownType: boolean;
    validateMaxBytes: number;
    /** zenoh.max_inbound_sample_bytes: a larger sample is dropped, counted and told to `onOversize`. */
    maxSampleBytes?: number;
    onOversize?: (topic: string, bytes: number) => void;
    ownGids: ReadonlySet<string>;
    log: Logger;
    /** The liveliness token that announces the daemon's subscriber, where the mapping announces one. */
    token?: () => string;
    /** The bus source of its messages: `zenoh`, or the second link's. */
    source?: string;
  }) {
    const { link, dataLink = link, bus, mapping, topic, codec, knownType, validateMaxBytes, ownGids, log } = options;
    const { maxSampleBytes = Infinity, onOversize = () => {}, source = 'zenoh' } = options;
    this.#maxSampleBytes = maxSampleBytes;
    this.#onOversize = onOversize;
    this.#announce = options.token;
    this.name = topic.name;
    this.rosType = topic.rosType;
    this.#link = link;
    this.#dataLink = dataLink;
    this.#lane = options.lane;
    this.#mapping = mapping;
    this.#codec = codec;
    this.#validate = knownType && validateMaxBytes > 0;
    this.#validateMaxBytes = validateMaxBytes;
    this.#ownGids = ownGids;
    this.#log = log;
    this.#qos = topic.qos;
    // Throws when the bus has the topic with another type: the caller reports it and does not bridge.
    this.#publisher = bus.advertise(topic.name, topic.rosType, { source, qos: topic.qos });
  }

  start(): void {
    const key = this.#mapping.subscribeKey(this.name, this.rosType);
    this.#subscriber = this.#lane
      ? this.#lane.declareSubscriber(key, this.#maxSampleBytes, (sample) => this.#receive(fromLane(sample)))
      : this.#dataLink.declareSubscriber(key, (sample) => this.#receive(fromZenoh(sample)));
    if (this.#announce) this.#token = this.#link.declareToken(this.#announce);
    if (this.#qos.durability === 'transient_local') {
      // zenoh-ext's protocol: the caches of rmw_zenoh (from 0.2.2) and zenoh-bridge-ros2dds 1.10 publishers, asked on
      // every session. No real peer answers a plain query on the topic's key (older rmw_zenoh's publication caches
      // sat under a zid prefix), so none is sent.
      this.#history = new AdvancedHistory({
        link: this.#link,
        key,
        depth: this.#qos.depth,
        onSample: (sample) => this.#receive(fromZenoh(sample)),
        log: this.#log,
      });
      this.#history.start();
    }
  }

  async close(): Promise<void> {
    this.#publisher.close();
    await Promise.all([this.#subscriber?.close(), this.#token?.close(), this.#history?.close()]);
  }

  #receive(sample: Received): void {
    this.counters.received++;
    if (this.#qos.durability === 'transient_local' && this.#seenBefore(sample)) {
      this.counters.duplicates++;
      return;
    }
    let publishTime: bigint | undefined;
    if (this.#mapping.attachments) {
      const bytes = sample.attachment();
      const attachment = bytes === undefined ? undefined : decodeAttachment(bytes);
      if (attachment !== undefined) {
        const gid = Buffer.from(attachment.gid).toString('hex');
        if (this.#ownGids.has(gid)) {
          this.counters.echoes++;
          return;
        }
        if (!this.#inSequence(gid, attachment.sequence)) {
          this.counters.duplicates++;
          return;
        }
        if (attachment.timestampNs > 0n) publishTime = attachment.timestampNs;
      }
    }
    // After its sequence number is taken: an oversize sample is dropped here, not lost on the way.
    const size = sample.size;
    const data = size > this.#maxSampleBytes ? undefined : sample.payload();
    if (data === undefined) {
      this.counters.oversize++;
      this.#onOversize(this.name, size);
      return;
    }
    const problem = this.#check(data);
    if (problem !== undefined) {
      this.counters.malformed++;
      if (this.lastError === undefined)
        this.#log.warn({ topic: this.name, type: this.rosType }, `zenoh: dropped a sample: ${problem}`);
      this.lastError = problem;
      return;
    }
    this.#publisher.publish(data, publishTime ?? nowNs());
    this.counters.delivered++;
  }

  /**
   * Counts the samples a publisher's sequence skipped, and says whether this one is new: a transient_local sample
   * at or before the last one (the history and the live stream overlap) is a duplicate. A publisher that starts
   * over has a new GID (it is made from its token), so its sequence starts with it.
   */
  #inSequence(gid: string, sequence: bigint): boolean {
    const last = this.#lastSeq.get(gid);
    if (last !== undefined && sequence <= last) return this.#qos.durability !== 'transient_local';
    if (last !== undefined && sequence > last + 1n) this.counters.lost += Number(sequence - last - 1n);
    this.#lastSeq.delete(gid); // re-inserted last: the Map's order is then least recently heard first
    this.#lastSeq.set(gid, sequence);
    if (this.#lastSeq.size > PUBLISHERS_TRACKED) this.#lastSeq.delete(this.#lastSeq.keys().next().value!);
    return true;
  }

  #seenBefore(sample: Received): boolean {
    const id = sample.stamp();
    if (id === undefined) return false;
    if (this.#seenStamps.has(id)) return true;
    this.#seenStamps.add(id);
    // Enough to cover every cache's answer at once; the oldest goes first (a Set keeps insertion order).
    if (this.#seenStamps.size > Math.max(64, this.#qos.depth * 4))
      this.#seenStamps.delete(this.#seenStamps.values().next().value!);
    return false;
  }

  #check(data: Uint8Array): string | undefined {
    if (!hasCdrHeader(data)) return `${data.length} bytes without a CDR encapsulation header`;
    if (!this.#validate || data.length > this.#validateMaxBytes) return undefined;
    try {
      this.#codec.decode(this.rosType, data);
      return undefined;
    } catch (error) {
      return errorText(error);
    }
  }
}
