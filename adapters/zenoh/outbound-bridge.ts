import type { MessageCodec } from '../../daemon/bus/index.ts';
import type { SideRelays, ZenohSettings } from '../../daemon/config/index.ts';
import type { ComponentContext } from '../../daemon/lifecycle/index.ts';
import type { MotionGuard, RelayedVelocityCounters } from '../../daemon/motion/index.ts';
import { doorGuard, governedTopics, TWIST_STAMPED, VELOCITY_TYPES, zeroVelocity } from '../../daemon/motion/index.ts';
import { BulkLane } from './bulk-lane.ts';
import { CurrentGid } from './current-gid.ts';
import type { LocalEntity, LocalNode, Mapping } from './mapping.ts';
import type { OffLoopHalt } from './off-loop-halt.ts';
import { OutboundTopic } from './outbound-topic.ts';
import { FRAME_TYPES, publisherQos } from './publisher-qos.ts';
import { relayGuard } from './relay-side.ts';
import type { HaltZeroTarget } from './halt-zero.ts';
import type { ZenohLink } from './zenoh-link.ts';
import type { ZenohModule } from './zenoh-runtime.ts';

const fromSourceOnly = (sources: string[] | undefined, source: string) =>
  sources !== undefined && sources.length > 0 && sources.every((s) => s === source);

export interface OutboundBridgeOptions {
  ctx: ComponentContext;
  settings: ZenohSettings;
  /** The bus source of what comes from this link's graph: such a topic is not published back. */
  source: string;
  link: ZenohLink;
  bulkLink: ZenohLink | BulkLane | undefined;
  /** This link's part of the stop listener's thread, which the velocity topics' zero commands go to. */
  offLoop: OffLoopHalt;
  mapping: Mapping;
  codec: MessageCodec;
  relays: SideRelays;
  relayCounters: Map<string, RelayedVelocityCounters>;
  zenoh: () => ZenohModule;
  /** Whether a bus topic is published to the graph (zenoh.publish, served actions, relays out). */
  published: (topic: string) => boolean;
  /** Whether a topic is bridged in from this graph: it is there already. */
  bridgedIn: (topic: string) => boolean;
  node: () => LocalNode;
  entityId: () => number;
  /** The type hash a topic is published under. */
  publishHash: (topic: string, rosType: string) => string | undefined;
  /** The GIDs of this daemon's publishers, so what the graph echoes back is known as ours. */
  ownGids: Set<string>;
  oversizeLog: (key: string, fields: Record<string, unknown>, message: string) => void;
}

/**
 * The bus topics published to the Zenoh graph, one OutboundTopic each, declared as they first appear on the
 * bus. A velocity topic among them also gets the stop listener's zero command, so the operator's stop reaches
 * this graph from a thread of its own.
 */
export class OutboundBridge {
  readonly topics = new Map<string, OutboundTopic>();
  readonly #source: string;
  readonly #link: ZenohLink;
  readonly #bulkLink: ZenohLink | BulkLane | undefined;
  readonly #offLoop: OffLoopHalt;
  readonly #mapping: Mapping;
  readonly #codec: MessageCodec;
  readonly #relays: SideRelays;
  readonly #relayCounters: Map<string, RelayedVelocityCounters>;
  readonly #zenoh: () => ZenohModule;
  readonly #published: (topic: string) => boolean;
  readonly #bridgedIn: (topic: string) => boolean;
  readonly #node: () => LocalNode;
  readonly #entityId: () => number;
  readonly #publishHash: (topic: string, rosType: string) => string | undefined;
  readonly #ownGids: Set<string>;
  readonly #oversizeLog: OutboundBridgeOptions['oversizeLog'];
  readonly #ctx: ComponentContext;
  readonly #settings: ZenohSettings;
  /** The motion guard at this side's doors (commandGuard), following the daemon's config. */
  readonly #motion: () => MotionGuard;
  /** The velocity topics this bridge publishes, by type: the stop listener's thread zeroes them on its own. */
  #haltTargets = new Map<string, string>();
  #closed = false;

  constructor(options: OutboundBridgeOptions) {
    const {
      ctx,
      settings,
      source,
      link,
      bulkLink,
      offLoop,
      mapping,
      codec,
      relays,
      relayCounters,
      zenoh,
      published,
      bridgedIn,
      node,
      entityId,
      publishHash,
      ownGids,
      oversizeLog,
    } = options;
    this.#ctx = ctx;
    this.#settings = settings;
    this.#motion = doorGuard(ctx, codec);
    this.#source = source;
    this.#link = link;
    this.#bulkLink = bulkLink;
    this.#offLoop = offLoop;
    this.#mapping = mapping;
    this.#codec = codec;
    this.#relays = relays;
    this.#relayCounters = relayCounters;
    this.#zenoh = zenoh;
    this.#published = published;
    this.#bridgedIn = bridgedIn;
    this.#node = node;
    this.#entityId = entityId;
    this.#publishHash = publishHash;
    this.#ownGids = ownGids;
    this.#oversizeLog = oversizeLog;
  }

  /** A topic seen on the bus: published to the graph when selected, and not already there. */
  offer(topic: string, type: string): void {
    const published = this.#published;
    const mapping = this.#mapping;
    const link = this.#link;
    const node = this.#node;
    if (!this.#closed && published(topic) && VELOCITY_TYPES.has(type)) {
      if (governedTopics(this.#ctx.config.motion.velocity)(topic)) this.haltTarget(topic, type);
    }
    if (this.#closed || this.topics.has(topic) || !published(topic)) return;
    // A topic bridged from this graph is already there; the ros2dds mapping has no GID to tell our samples apart.
    const sources = this.#ctx.bus.stats().find((s) => s.topic === topic)?.sources;
    if (this.#bridgedIn(topic) || fromSourceOnly(sources, this.#source)) return;
    const { qos, options, bulk } = publisherQos(
      this.#zenoh(),
      this.#settings.topic_qos,
      topic,
      this.#ctx.bus.topicQos(topic),
    );
    const entity: LocalEntity = {
      kind: 'publisher',
      entityId: this.#entityId(),
      name: topic,
      rosType: type,
      typeHash: this.#publishHash(topic, type),
      qos,
    };
    // As rmw_zenoh: the hash of the entity's token, which holds the session's zid and this start's random node
    // id, so a restarted daemon's publisher is a new one (its sequence starts over with its GID).
    const gid = new CurrentGid({
      zid: () => link.zid,
      token: () => mapping.entityToken(node(), entity),
      onNew: (taken) => this.#ownGids.add(Buffer.from(taken).toString('hex')),
    });
    const out = new OutboundTopic({
      link,
      ...(this.#laneFor(bulk, type) ? { dataLink: this.#bulkLink! } : {}),
      bus: this.#ctx.bus,
      mapping,
      node,
      entity,
      gid: () => gid.get(),
      publisherOptions: options,
      queueDepth: this.#settings.queue_depth,
      maxSampleBytes: this.#settings.max_sample_bytes,
      source: this.#source,
      ...relayGuard({
        topic,
        type,
        relays: this.#relays,
        counters: this.#relayCounters,
        ctx: this.#ctx,
        codec: this.#codec,
        motion: this.#motion,
      }),
      onOversize: (topic, bytes) =>
        this.#oversizeLog(
          topic,
          { topic, bytes, max_sample_bytes: this.#settings.max_sample_bytes },
          `zenoh: a sample of ${topic} is larger than zenoh.max_sample_bytes and was not sent (the remote-api bridge closes its WebSocket on a frame over 16 MiB); publish smaller samples, e.g. compressed`,
        ),
    });
    this.topics.set(topic, out);
    out.start();
  }

  /**
   * Hands the stop listener's thread this bridge's zero command for `topic` (of `type`): a session of that
   * thread's own puts it on the topic's key when a stop comes in, not waiting for this thread (docs/api.md).
   */
  haltTarget(topic: string, type: string): void {
    if (this.#haltTargets.get(topic) === type) return;
    this.#haltTargets.set(topic, type);
    const mapping = this.#mapping;
    const targets: HaltZeroTarget[] = [...this.#haltTargets].map(([name, rosType]) => ({
      topic: name,
      key: mapping.dataKey(name, rosType, this.#publishHash(name, rosType)),
      payload: this.#codec.encode(rosType, zeroVelocity(rosType, 0n)),
      stamped: rosType === TWIST_STAMPED,
    }));
    this.#offLoop.setTargets(targets);
  }

  /** No topic is declared after this; the topics declared close with close(). */
  seal(): void {
    this.#closed = true;
  }

  close(): Promise<void>[] {
    return [...this.topics.values()].map((t) => t.close());
  }

  /**
   * Whether a topic's samples go out on the bulk lane: a bulk topic's, and frames where the lane is a thread (a
   * relayed frame's bytes, shared by the lane that received them, are then put by reference).
   */
  #laneFor(bulk: boolean, type: string): boolean {
    if (this.#bulkLink === undefined) return false;
    return bulk || (FRAME_TYPES.has(type) && this.#bulkLink instanceof BulkLane);
  }
}
