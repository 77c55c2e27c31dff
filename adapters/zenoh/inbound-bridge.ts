import type { MessageCodec } from '../../daemon/bus/index.ts';
import type { ZenohSettings } from '../../daemon/config/index.ts';
import type { ComponentContext } from '../../daemon/lifecycle/index.ts';
import { errorText, rateLimitedErrors } from '../../daemon/util/index.ts';
import type { GraphDiscovery } from './graph-discovery.ts';
import type { BulkLane } from './bulk-lane.ts';
import { InboundTopic } from './inbound-topic.ts';
import type { LocalEntity, LocalNode, Mapping } from './mapping.ts';
import { onLaneThread } from './publisher-qos.ts';
import type { TopicCap } from './topic-cap.ts';
import type { ZenohLink } from './zenoh-link.ts';

export interface InboundBridgeOptions {
  ctx: ComponentContext;
  settings: ZenohSettings;
  /** The bus and graph source of what comes from this link's graph. */
  source: string;
  link: ZenohLink;
  /** The session for the graph's topics coming in (zenoh.receive_lane), if one. */
  receiveLink: ZenohLink | undefined;
  /** The bulk lane's thread (zenoh.bulk_lane_thread), if one: bulk topics and frames come in there. */
  bulkLane: BulkLane | undefined;
  mapping: Mapping;
  codec: MessageCodec;
  discovery: GraphDiscovery;
  /** zenoh.max_bridged_topics. */
  cap: TopicCap;
  /** Whether a graph topic is bridged in (zenoh.topics, recorded topics, relays in). */
  bridged: (topic: string) => boolean;
  /** Whether the daemon publishes the topic to this graph (the ros2dds mapping cannot tell its own samples). */
  publishedOut: (topic: string) => boolean;
  node: () => LocalNode;
  entityId: () => number;
  /** The GIDs of this daemon's publishers: their samples echoed back are not bridged in. */
  ownGids: Set<string>;
  /** Why a name was not bridged, shared with the component's service clients (its health lists them). */
  refused: Map<string, string>;
  oversizeLog: (key: string, fields: Record<string, unknown>, message: string) => void;
}

/**
 * The graph's topics bridged onto the bus, one InboundTopic each, declared as their publishers come and
 * dropped as they go, a few a reconcile and never more than zenoh.max_bridged_topics.
 */
export class InboundBridge {
  readonly topics = new Map<string, InboundTopic>();
  readonly #ctx: ComponentContext;
  readonly #settings: ZenohSettings;
  readonly #source: string;
  readonly #link: ZenohLink;
  readonly #receiveLink: ZenohLink | undefined;
  readonly #bulkLane: BulkLane | undefined;
  readonly #mapping: Mapping;
  readonly #codec: MessageCodec;
  readonly #discovery: GraphDiscovery;
  readonly #cap: TopicCap;
  readonly #bridged: (topic: string) => boolean;
  readonly #publishedOut: (topic: string) => boolean;
  readonly #node: () => LocalNode;
  readonly #entityId: () => number;
  readonly #ownGids: Set<string>;
  readonly #refused: Map<string, string>;
  readonly #oversizeLog: InboundBridgeOptions['oversizeLog'];
  readonly #typeConflictLog: ReturnType<typeof rateLimitedErrors>;
  /** Graph topics to bridge, in the order they came, waiting for a reconcile's budget or for room under the cap. */
  #pending = new Set<string>();

  constructor(options: InboundBridgeOptions) {
    const { ctx, settings, source, link, receiveLink, mapping, codec, discovery, cap, bridged, publishedOut } = options;
    const { node, entityId, ownGids, refused, oversizeLog } = options;
    this.#ctx = ctx;
    this.#settings = settings;
    this.#source = source;
    this.#link = link;
    this.#receiveLink = receiveLink;
    this.#bulkLane = options.bulkLane;
    this.#mapping = mapping;
    this.#codec = codec;
    this.#discovery = discovery;
    this.#cap = cap;
    this.#bridged = bridged;
    this.#publishedOut = publishedOut;
    this.#node = node;
    this.#entityId = entityId;
    this.#ownGids = ownGids;
    this.#refused = refused;
    this.#oversizeLog = oversizeLog;
    this.#typeConflictLog = rateLimitedErrors(ctx.log, { first: 5 });
  }

  /**
   * Reads only the topics whose publishers changed, declares at most `budget` new ones. True when some were
   * left for a later run.
   */
  reconcile(budget: number): boolean {
    for (const name of this.#discovery.takeChangedTopics()) {
      if (this.#discovery.publishedTopic(name) === undefined) {
        this.#pending.delete(name);
        this.#cap.release(name);
        const inbound = this.topics.get(name);
        this.topics.delete(name);
        void inbound?.close();
      } else if (!this.topics.has(name) && this.#bridged(name)) this.#pending.add(name);
    }
    for (const name of this.#pending) {
      if (!this.#cap.hasRoom(this.topics.size)) this.#cap.refuse(name);
      else if (budget > 0 && this.#admit(name)) budget--;
    }
    const more = this.#pending.size > 0 && this.#cap.hasRoom(this.topics.size);
    return more;
  }

  close(): Promise<void>[] {
    return [...this.topics.values()].map((t) => t.close());
  }

  /** Bridges one pending topic of the graph; false when it declared nothing (refused for its type, or ours). */
  #admit(name: string): boolean {
    this.#pending.delete(name);
    this.#cap.release(name);
    const topic = this.#discovery.publishedTopic(name);
    if (topic === undefined || (this.#mapping.name === 'ros2dds' && this.#publishedOut(name))) return false;
    const entity: LocalEntity = {
      kind: 'subscriber',
      entityId: this.#entityId(),
      name,
      rosType: topic.rosType,
      typeHash: topic.typeHash,
      qos: topic.qos,
    };
    try {
      const inbound = new InboundTopic({
        link: this.#link,
        ...(this.#receiveLink ? { dataLink: this.#receiveLink } : {}),
        ...(this.#bulkLane && onLaneThread(this.#settings.topic_qos, name, topic.rosType)
          ? { lane: this.#bulkLane }
          : {}),
        bus: this.#ctx.bus,
        mapping: this.#mapping,
        topic,
        codec: this.#codec,
        knownType: this.#ctx.definitions.has(topic.rosType),
        validateMaxBytes: this.#settings.validate_max_bytes,
        maxSampleBytes: this.#settings.max_inbound_sample_bytes,
        onOversize: (topic, bytes) =>
          this.#oversizeLog(
            `in ${topic}`,
            { topic, bytes, max_inbound_sample_bytes: this.#settings.max_inbound_sample_bytes },
            `zenoh: a sample of ${topic} from the graph is larger than zenoh.max_inbound_sample_bytes and was dropped; raise the setting or have its publisher send smaller samples`,
          ),
        ownGids: this.#ownGids,
        log: this.#ctx.log,
        source: this.#source,
        ...(this.#mapping.announcesSubscribers ? { token: () => this.#mapping.entityToken(this.#node(), entity) } : {}),
      });
      this.topics.set(name, inbound);
      this.#refused.delete(name);
      inbound.start();
      return true;
    } catch (error) {
      // The bus has the topic with another type (the sim's /scan, another bridge's): say so, once per topic
      // and at a bounded rate however many topics a peer announces. Tried again when its publishers change.
      if (!this.#refused.has(name))
        this.#typeConflictLog(
          'type',
          { topic: name, type: topic.rosType, err: errorText(error) },
          'zenoh: topic not bridged',
        );
      this.#refused.set(name, errorText(error));
      return false;
    }
  }
}
