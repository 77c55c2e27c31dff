import type { TopicQos } from './types.ts';

/** What an endpoint of the robot's graph is, in ROS 2 terms. */
export type GraphEndpointKind = 'publisher' | 'subscriber' | 'service' | 'client';

/** A node of the robot's graph, as `ros2 node list` shows it. */
export interface GraphNode {
  /** The adapter that saw it: `zenoh`, `ros`. */
  readonly source: string;
  /** Fully qualified name, e.g. `/robot1/lidar_driver`. */
  readonly name: string;
  /** The peer's own id for it (a Zenoh id, a DDS GUID prefix), where it has one. */
  readonly id?: string;
  /** True for the daemon's own node. */
  readonly local: boolean;
}

/** A publisher, subscriber, service server or client, as `ros2 topic info -v` shows it. */
export interface GraphEndpoint {
  readonly source: string;
  readonly kind: GraphEndpointKind;
  /** Fully qualified name of the node that owns it. */
  readonly node: string;
  /** Fully qualified topic or service name, e.g. `/scan`. */
  readonly name: string;
  /** ROS 2 type name, e.g. `sensor_msgs/msg/LaserScan` (services: `std_srvs/srv/Trigger`). */
  readonly type: string;
  /** RIHS01 type hash where the peer announced one. */
  readonly typeHash?: string;
  readonly qos?: TopicQos;
  /** The peer's id of this endpoint (rmw_zenoh's entity id, a DDS GID), unique within its source. */
  readonly id: string;
  readonly local: boolean;
}

/** One topic or service name with what is known of it across every source. */
export interface GraphName {
  readonly name: string;
  readonly types: string[];
  readonly publishers: number;
  readonly subscribers: number;
  readonly servers: number;
  readonly clients: number;
}

export type GraphChange =
  | { readonly op: 'add' | 'remove'; readonly endpoint: GraphEndpoint }
  | { readonly op: 'add-node' | 'remove-node'; readonly node: GraphNode };

/**
 * The robot's graph as the bridges see it: nodes and endpoints discovered by each adapter (Zenoh liveliness,
 * rclnodejs graph queries) and the daemon's own. Adapters write it; the API, `topic list -v` and the status
 * page read it. An entry is keyed by its source and id, so an adapter that reconnects can drop everything
 * it said (`clearSource`) and tell the graph again without touching another adapter's entries.
 */
export class RobotGraph {
  #nodes = new Map<string, GraphNode>();
  #endpoints = new Map<string, GraphEndpoint>();
  #listeners = new Set<(change: GraphChange) => void>();

  /** Adds or replaces a node; returns false when it was already known with the same fields. */
  addNode(node: GraphNode): boolean {
    const key = `${node.source}\0${node.name}\0${node.id ?? ''}`;
    if (this.#nodes.has(key)) return false;
    this.#nodes.set(key, node);
    this.#emit({ op: 'add-node', node });
    return true;
  }

  removeNode(source: string, name: string, id?: string): void {
    const key = `${source}\0${name}\0${id ?? ''}`;
    const node = this.#nodes.get(key);
    if (node === undefined) return;
    this.#nodes.delete(key);
    this.#emit({ op: 'remove-node', node });
  }

  /** Adds an endpoint; returns false when one with the same source and id is already known. */
  add(endpoint: GraphEndpoint): boolean {
    const key = `${endpoint.source}\0${endpoint.id}`;
    if (this.#endpoints.has(key)) return false;
    this.#endpoints.set(key, endpoint);
    this.#emit({ op: 'add', endpoint });
    return true;
  }

  remove(source: string, id: string): GraphEndpoint | undefined {
    const key = `${source}\0${id}`;
    const endpoint = this.#endpoints.get(key);
    if (endpoint === undefined) return undefined;
    this.#endpoints.delete(key);
    this.#emit({ op: 'remove', endpoint });
    return endpoint;
  }

  /** Forgets every node and endpoint a source reported (its link went down, or it stopped). */
  clearSource(source: string): void {
    for (const endpoint of [...this.#endpoints.values()]) {
      if (endpoint.source === source) this.remove(source, endpoint.id);
    }
    for (const node of [...this.#nodes.values()]) {
      if (node.source === source) this.removeNode(source, node.name, node.id);
    }
  }

  nodes(): GraphNode[] {
    return [...this.#nodes.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  endpoints(filter: { name?: string; kind?: GraphEndpointKind; source?: string } = {}): GraphEndpoint[] {
    const { name, kind, source } = filter;
    return [...this.#endpoints.values()].filter(
      (e) =>
        (name === undefined || e.name === name) &&
        (kind === undefined || e.kind === kind) &&
        (source === undefined || e.source === source),
    );
  }

  /** Topic and service names with their types and endpoint counts, sorted by name. */
  names(): GraphName[] {
    const byName = new Map<string, { types: Set<string>; counts: Record<GraphEndpointKind, number> }>();
    for (const e of this.#endpoints.values()) {
      let entry = byName.get(e.name);
      if (entry === undefined) {
        entry = { types: new Set(), counts: { publisher: 0, subscriber: 0, service: 0, client: 0 } };
        byName.set(e.name, entry);
      }
      entry.types.add(e.type);
      entry.counts[e.kind] += 1;
    }
    return [...byName.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, { types, counts }]) => ({
        name,
        types: [...types].sort(),
        publishers: counts.publisher,
        subscribers: counts.subscriber,
        servers: counts.service,
        clients: counts.client,
      }));
  }

  /** Calls `listener` on every change until the returned function is called. */
  watch(listener: (change: GraphChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(change: GraphChange): void {
    for (const listener of this.#listeners) listener(change);
  }
}
