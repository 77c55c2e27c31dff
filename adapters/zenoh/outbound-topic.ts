import type { PublisherOptions } from '@eclipse-zenoh/zenoh-ts';
import type { Bus, BusMessage, Subscription, TopicQos } from '../../daemon/bus/index.ts';
import type { RelayGuard } from '../../daemon/motion/index.ts';
import { AdvancedPublisherCache, type CachedSample } from './advanced-publisher.ts';
import type { LocalEntity, LocalNode, Mapping } from './mapping.ts';
import { encodeAttachment } from './rmw-zenoh-keys.ts';
import type { Handle, LinkPublisher, ZenohLink } from './zenoh-link.ts';

/** What an outbound topic's samples go through: a ZenohLink, or the bulk lane's thread. */
export type DataLink = Pick<ZenohLink, 'declarePublisher'> & { onUp(listener: () => void): () => void };

export interface OutboundCounters {
  sent: number;
  /** Volatile samples handed to a link that was down (or failed the send): lost. */
  linkDrops: number;
  /** transient_local samples handed to a link that was down: kept, and sent when it is up. */
  heldForLink: number;
  /** transient_local samples sent again as the link came up (the first time and after every reconnect). */
  resent: number;
  /** Samples over max_sample_bytes: never put, as the bridge would close the WebSocket on them. */
  oversize: number;
  /** Bus messages that came from this link's graph: never sent back. */
  echoesSkipped: number;
  /** transient_local samples served to late joiners. */
  historyServed: number;
}

/**
 * One bus topic published to Zenoh by the daemon's node: a liveliness token announcing the publisher, a Zenoh
 * publisher on the topic's key, and a bus subscription of its own with a bounded drop-oldest queue, so a
 * large topic that the link cannot keep up with drops its own oldest messages (counted by the bus) and never
 * holds up another topic. Each sample carries rmw_zenoh's attachment (sequence number, source timestamp,
 * GID). A transient_local topic keeps its last `depth` samples, answers zenoh-ext's history queries with them (an
 * advanced publisher's cache, as rmw_zenoh's and zenoh-bridge-ros2dds's late joiners ask), and puts them again each
 * time its link comes up: a latched /map published before the link opened, or while it was down,
 * still reaches the network, with its first attachment so a subscriber that had it sees the same sequence.
 */
export class OutboundTopic {
  readonly name: string;
  readonly rosType: string;
  readonly counters: OutboundCounters = {
    sent: 0,
    linkDrops: 0,
    heldForLink: 0,
    resent: 0,
    oversize: 0,
    echoesSkipped: 0,
    historyServed: 0,
  };
  #link: ZenohLink;
  #dataLink: DataLink;
  #bus: Bus;
  #key: string;
  #qos: TopicQos;
  #queueDepth: number;
  #maxSampleBytes: number;
  #onOversize: (topic: string, bytes: number) => void;
  #attachments: boolean;
  #publisherOptions: PublisherOptions;
  #handles: Handle[] = [];
  #publisher: LinkPublisher | undefined;
  #subscription: Subscription | undefined;
  #sequence = 0n;
  #offUp: (() => void) | undefined;
  #gid: () => Uint8Array;
  #source: string;
  #guard: RelayGuard | undefined;
  #cache: CachedSample[] = [];
  #advanced: AdvancedPublisherCache | undefined;

  constructor(options: {
    link: ZenohLink;
    /** The link its samples go through: `link`, or a second session for bulk topics (a BulkLane). */
    dataLink?: DataLink;
    bus: Bus;
    mapping: Mapping;
    node: () => LocalNode;
    entity: LocalEntity;
    /** The GID of the publisher's token now announced (CurrentGid). */
    gid: () => Uint8Array;
    publisherOptions: PublisherOptions;
    queueDepth: number;
    /** The largest sample put; a larger one is counted and reported, never sent. */
    maxSampleBytes: number;
    onOversize: (topic: string, bytes: number) => void;
    /** The bus source of what came from this link's graph, never sent back: `zenoh`, or the second link's. */
    source?: string;
    /** The policy's frame around a command relayed from another graph (relayedCommandGuard). */
    guard?: RelayGuard;
  }) {
    const { link, dataLink = link, bus, mapping, node, entity, gid, publisherOptions, queueDepth } = options;
    const { maxSampleBytes, onOversize, source = 'zenoh', guard } = options;
    this.#source = source;
    this.#guard = guard;
    this.name = entity.name;
    this.rosType = entity.rosType;
    this.#gid = gid;
    this.#link = link;
    this.#dataLink = dataLink;
    this.#bus = bus;
    this.#key = mapping.dataKey(entity.name, entity.rosType, entity.typeHash);
    this.#qos = entity.qos;
    this.#queueDepth = queueDepth;
    this.#maxSampleBytes = maxSampleBytes;
    this.#onOversize = onOversize;
    this.#attachments = mapping.attachments;
    this.#publisherOptions = publisherOptions;
    if (mapping.announces(entity.name))
      this.#handles.push(link.declareToken(() => mapping.entityToken(node(), entity)));
  }

  get key(): string {
    return this.#key;
  }

  get gid(): Uint8Array {
    return this.#gid();
  }

  /** The bus subscription's counters: its queue's drops are this topic's drops toward Zenoh. */
  get queue(): { dropped: number; queued: number } {
    const c = this.#subscription?.counters;
    return { dropped: c?.dropped ?? 0, queued: c?.queued ?? 0 };
  }

  start(): void {
    this.#publisher = this.#dataLink.declarePublisher(this.#key, this.#publisherOptions);
    this.#handles.push(this.#publisher);
    if (this.#qos.durability === 'transient_local') {
      // zenoh-ext's protocol, which rmw_zenoh from 0.2.2 and zenoh-bridge-ros2dds 1.10 subscribers ask; no real peer
      // asks a plain query on the topic's key, so no queryable answers one.
      this.#advanced = new AdvancedPublisherCache({
        link: this.#link,
        key: this.#key,
        samples: () => this.#cache,
        onServed: (samples) => (this.counters.historyServed += samples),
      });
      this.#handles.push(this.#advanced);
      this.#offUp = this.#dataLink.onUp(() => void this.#resend());
    }
    this.#subscription = this.#bus.subscribe({
      name: `zenoh:${this.name}`,
      topic: this.name,
      queue: { policy: 'drop-oldest', depth: this.#queueDepth },
      handler: (msg) => this.#send(msg),
    });
  }

  async close(): Promise<void> {
    if (this.#subscription) this.#bus.unsubscribe(this.#subscription);
    this.#offUp?.();
    await Promise.all(this.#handles.map((h) => h.close()));
  }

  async #send(msg: BusMessage): Promise<void> {
    // What came from this graph goes back to no one: the bridge never echoes.
    if (msg.source === this.#source) {
      this.counters.echoesSkipped++;
      return;
    }
    if (msg.data.byteLength > this.#maxSampleBytes) {
      this.counters.oversize++;
      this.#onOversize(this.name, msg.data.byteLength);
      return;
    }
    const data = this.#guard ? this.#guard(msg.data, msg.source) : msg.data;
    if (data === undefined) return; // held while the stop is latched: the guard counted it
    const sequence = ++this.#sequence;
    // Encoded when put: a sample held for the link, or cached and put again, carries the GID of the token then
    // announced, not of the session it was first published in.
    const attachmentNow = () =>
      this.#attachments ? encodeAttachment({ sequence, timestampNs: msg.publishTime, gid: this.gid }) : undefined;
    const attachment = attachmentNow();
    const latched = this.#qos.durability === 'transient_local';
    const timestamp = await this.#advanced?.stamp();
    if (latched) {
      this.#cache.push({
        data,
        get attachment() {
          return attachmentNow();
        },
        timestamp,
      });
      if (this.#cache.length > this.#qos.depth) this.#cache.shift();
    }
    if (await this.#publisher!.put(data, attachment, timestamp)) this.counters.sent++;
    else if (latched) this.counters.heldForLink++;
    else this.counters.linkDrops++;
  }

  /** The cached samples, oldest first, on a link that just came up; a failed put waits for the next up. */
  async #resend(): Promise<void> {
    for (const { data, attachment, timestamp } of [...this.#cache]) {
      if (!(await this.#publisher!.put(data, attachment, timestamp))) return;
      this.counters.resent++;
    }
  }
}
