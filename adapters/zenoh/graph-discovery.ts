import type { GraphEndpoint, RobotGraph, TopicQos } from '../../daemon/bus/index.ts';
import type { AnnouncedEntity, Mapping } from './mapping.ts';

/** What the bridge needs to know of a topic the graph publishes. */
export interface PublishedTopic {
  name: string;
  rosType: string;
  typeHash?: string;
  /** The strongest QoS any remote publisher offers (transient_local wins, then reliable, the deepest). */
  qos: TopicQos;
  publishers: number;
}

interface Known {
  entity: AnnouncedEntity;
  generation: number;
}

/**
 * The robot's graph as Zenoh liveliness tokens announce it, written into RobotGraph (source `zenoh`). Tokens
 * arrive from a liveliness subscriber with history, so a new session hears every entity alive, then each one
 * that comes or goes. After a reconnect, what is not announced again within the settle time is taken as
 * gone: a graph that went on while the link was down must not keep ghosts, and one that did not change must
 * not flap. Tokens of the daemon's own session are marked local.
 */
export class GraphDiscovery {
  #graph: RobotGraph;
  #mapping: Mapping;
  #source: string;
  #known = new Map<string, Known>();
  /** Remote publishers' token keys by topic, kept as tokens come and go: a reconcile reads what changed only. */
  #publishers = new Map<string, Set<string>>();
  #changedTopics = new Set<string>();
  #generation = 0;
  #settleTimer: NodeJS.Timeout | undefined;
  #onChange: () => void;
  #isLocal: (entity: AnnouncedEntity) => boolean;
  /** Tokens that were not the mapping's (another domain, a malformed token). */
  ignored = 0;

  /** `onChange` is called when remote publishers or service servers come or go. */
  constructor(options: {
    graph: RobotGraph;
    mapping: Mapping;
    isLocal: (entity: AnnouncedEntity) => boolean;
    onChange: () => void;
    /** The graph source its entries are written under: `zenoh`, or the second link's. */
    source?: string;
  }) {
    const { graph, mapping, isLocal, onChange, source = 'zenoh' } = options;
    this.#source = source;
    this.#graph = graph;
    this.#mapping = mapping;
    this.#isLocal = isLocal;
    this.#onChange = onChange;
  }

  /** A new session opens: tokens heard from now on belong to it. */
  newSession(): void {
    this.#generation++;
    clearTimeout(this.#settleTimer);
  }

  /** The new session's declarations are in: the tokens it has not announced within `settleMs` go. */
  settle(settleMs: number): void {
    const generation = this.#generation;
    clearTimeout(this.#settleTimer);
    this.#settleTimer = setTimeout(() => {
      for (const [key, known] of this.#known) if (known.generation < generation) this.#forget(key);
      this.#changed();
    }, settleMs);
    this.#settleTimer.unref();
  }

  /** A token appeared (`alive`) or went. */
  token(key: string, alive: boolean): void {
    if (!alive) {
      if (this.#known.has(key)) {
        this.#forget(key);
        this.#changed();
      }
      return;
    }
    const entity = this.#mapping.parseToken(key);
    if (entity === undefined) {
      this.ignored++;
      return;
    }
    const had = this.#known.get(key);
    this.#known.set(key, { entity, generation: this.#generation });
    if (had) return;
    const local = this.#isLocal(entity);
    if (entity.kind === 'publisher' && !local) {
      const keys = this.#publishers.get(entity.name) ?? new Set<string>();
      this.#publishers.set(entity.name, keys.add(key));
      this.#changedTopics.add(entity.name);
    }
    if (entity.kind === 'node') {
      this.#graph.addNode({ source: this.#source, name: entity.node, id: entity.id, local });
    } else {
      const endpoint: GraphEndpoint = {
        source: this.#source,
        kind: entity.kind,
        node: entity.node,
        name: entity.name,
        type: entity.rosType,
        id: entity.id,
        local,
        ...(entity.typeHash ? { typeHash: entity.typeHash } : {}),
        ...(entity.qos ? { qos: entity.qos } : {}),
      };
      this.#graph.add(endpoint);
    }
    if (entity.kind === 'publisher' || entity.kind === 'service') this.#changed();
  }

  /** Remote publishers by topic name. */
  published(): Map<string, PublishedTopic> {
    const topics = new Map<string, PublishedTopic>();
    for (const name of this.#publishers.keys()) topics.set(name, this.publishedTopic(name)!);
    return topics;
  }

  /** The topics whose remote publishers came or went since the last call. */
  takeChangedTopics(): string[] {
    const changed = [...this.#changedTopics];
    this.#changedTopics.clear();
    return changed;
  }

  /** A topic's remote publishers, merged; undefined when it has none. */
  publishedTopic(name: string): PublishedTopic | undefined {
    let topic: PublishedTopic | undefined;
    for (const key of this.#publishers.get(name) ?? []) {
      const { entity } = this.#known.get(key)!;
      const qos = entity.qos ?? { reliability: 'reliable', durability: 'volatile', depth: 10 };
      const seen = topic;
      if (seen === undefined) {
        topic = {
          name: entity.name,
          rosType: entity.rosType,
          qos,
          publishers: 1,
          ...(entity.typeHash ? { typeHash: entity.typeHash } : {}),
        };
        continue;
      }
      seen.publishers++;
      seen.qos = {
        reliability: seen.qos.reliability === 'reliable' || qos.reliability === 'reliable' ? 'reliable' : 'best_effort',
        durability:
          seen.qos.durability === 'transient_local' || qos.durability === 'transient_local'
            ? 'transient_local'
            : 'volatile',
        depth: Math.max(seen.qos.depth, qos.depth),
      };
    }
    return topic;
  }

  /** Remote service servers by service name, with their type and hash. */
  servers(): Map<string, { rosType: string; typeHash?: string }> {
    const services = new Map<string, { rosType: string; typeHash?: string }>();
    for (const { entity } of this.#known.values()) {
      if (entity.kind !== 'service' || this.#isLocal(entity) || services.has(entity.name)) continue;
      services.set(entity.name, { rosType: entity.rosType, ...(entity.typeHash ? { typeHash: entity.typeHash } : {}) });
    }
    return services;
  }

  /** Everything the link reported goes (the component stops). */
  clear(): void {
    clearTimeout(this.#settleTimer);
    this.#known.clear();
    this.#graph.clearSource(this.#source);
    this.#changed();
  }

  #forget(key: string): void {
    const known = this.#known.get(key);
    if (!known) return;
    this.#known.delete(key);
    const { entity } = known;
    const keys = entity.kind === 'publisher' ? this.#publishers.get(entity.name) : undefined;
    if (keys?.delete(key)) {
      if (keys.size === 0) this.#publishers.delete(entity.name);
      this.#changedTopics.add(entity.name);
    }
    if (entity.kind === 'node') this.#graph.removeNode(this.#source, entity.node, entity.id);
    else this.#graph.remove(this.#source, entity.id);
  }

  #changed(): void {
    this.#onChange();
  }
}
