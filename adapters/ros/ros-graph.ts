import type { GraphEndpoint, GraphEndpointKind, RobotGraph, TopicQos } from '../../daemon/bus/index.ts';
import { fromRmw } from './qos.ts';
import { asEndpointInfo, type RosNode, type TopicEndpointInfo } from './rcl-api.ts';

export const SOURCE = 'ros';

export interface RosTopicEndpoint {
  kind: 'publisher' | 'subscriber';
  /** Fully qualified name of its node. */
  node: string;
  type: string;
  /** The endpoint's GID, hex: unique in the graph, and what MessageInfo.publisherGid carries. */
  gid: string;
  qos: TopicQos;
  typeHash?: string;
  local: boolean;
}

/** The graph as one round of rclnodejs's graph queries saw it. */
export interface RosGraphSnapshot {
  nodes: { name: string; local: boolean }[];
  topics: Map<string, { types: string[]; endpoints: RosTopicEndpoint[] }>;
  /** Each service with its type and the nodes that serve it. */
  services: Map<string, { type: string; servers: string[]; clients: string[] }>;
}

export function fullyQualified(namespace: string, name: string): string {
  return `${namespace.endsWith('/') ? namespace : `${namespace}/`}${name}`;
}

function endpoint(info: TopicEndpointInfo, kind: RosTopicEndpoint['kind'], self: string): RosTopicEndpoint {
  const node = fullyQualified(info.node_namespace, info.node_name);
  const hash = info.topic_type_hash;
  return {
    kind,
    node,
    type: info.topic_type,
    gid: Buffer.from(info.endpoint_gid).toString('hex'),
    qos: fromRmw(info.qos_profile),
    ...(hash?.version === 1 ? { typeHash: `RIHS01_${Buffer.from(hash.value).toString('hex')}` } : {}),
    local: node === self,
  };
}

/**
 * Reads the graph through the node's graph queries: rclnodejs has no graph event, so the bridge polls. `self`
 * is the daemon's node, whose endpoints are marked local.
 */
export function readRosGraph(node: RosNode, self: string): RosGraphSnapshot {
  const nodes = node.getNodeNamesAndNamespaces().map((n) => fullyQualified(n.namespace, n.name));
  const topics: RosGraphSnapshot['topics'] = new Map();
  for (const { name, types } of node.getTopicNamesAndTypes()) {
    const endpoints: RosTopicEndpoint[] = [];
    const read = (infos: object[], kind: RosTopicEndpoint['kind']) => {
      for (const raw of infos) {
        const info = asEndpointInfo(raw);
        if (info) endpoints.push(endpoint(info, kind, self));
      }
    };
    read(node.getPublishersInfoByTopic(name, false), 'publisher');
    read(node.getSubscriptionsInfoByTopic(name, false), 'subscriber');
    topics.set(name, { types, endpoints });
  }
  const services: RosGraphSnapshot['services'] = new Map();
  for (const n of node.getNodeNamesAndNamespaces()) {
    const owner = fullyQualified(n.namespace, n.name);
    const add = (list: { name: string; types: string[] }[], role: 'servers' | 'clients') => {
      for (const { name, types } of list) {
        let entry = services.get(name);
        if (entry === undefined) services.set(name, (entry = { type: types[0] ?? '', servers: [], clients: [] }));
        entry[role].push(owner);
      }
    };
    let served: { name: string; types: string[] }[];
    let clients: { name: string; types: string[] }[];
    try {
      served = node.getServiceNamesAndTypesByNode(n.name, n.namespace);
      clients = node.getClientNamesAndTypesByNode(n.name, n.namespace);
    } catch {
      // rcl fails the query for a node that left since the node list was read: it has no services now.
      continue;
    }
    add(served, 'servers');
    add(clients, 'clients');
  }
  return { nodes: nodes.map((name) => ({ name, local: name === self })), topics, services };
}

/** Keeps the RobotGraph's `ros` entries equal to the last snapshot, by adding and removing the differences. */
export class GraphMirror {
  #graph: RobotGraph;
  #endpoints = new Map<string, GraphEndpoint>();
  #nodes = new Set<string>();

  constructor(graph: RobotGraph) {
    this.#graph = graph;
  }

  apply(snapshot: RosGraphSnapshot): void {
    const seen = new Map<string, GraphEndpoint>();
    const local = new Set(snapshot.nodes.filter((n) => n.local).map((n) => n.name));
    for (const [name, { endpoints }] of snapshot.topics) {
      for (const e of endpoints) {
        const id = `${e.kind}:${e.gid}`;
        const { typeHash } = e;
        seen.set(id, {
          source: SOURCE,
          kind: e.kind,
          node: e.node,
          name,
          type: e.type,
          qos: e.qos,
          id,
          local: e.local,
          ...(typeHash ? { typeHash } : {}),
        });
      }
    }
    for (const [name, { type, servers, clients }] of snapshot.services) {
      const add = (kind: GraphEndpointKind, node: string) => {
        const id = `${kind}:${node}:${name}`;
        seen.set(id, { source: SOURCE, kind, node, name, type, id, local: local.has(node) });
      };
      for (const node of servers) add('service', node);
      for (const node of clients) add('client', node);
    }
    for (const id of this.#endpoints.keys()) if (!seen.has(id)) this.#graph.remove(SOURCE, id);
    for (const [id, e] of seen) if (!this.#endpoints.has(id)) this.#graph.add(e);
    this.#endpoints = seen;

    const names = new Set(snapshot.nodes.map((n) => n.name));
    for (const name of this.#nodes) if (!names.has(name)) this.#graph.removeNode(SOURCE, name);
    for (const n of snapshot.nodes)
      if (!this.#nodes.has(n.name)) this.#graph.addNode({ source: SOURCE, name: n.name, local: n.local });
    this.#nodes = names;
  }

  clear(): void {
    this.#graph.clearSource(SOURCE);
    this.#endpoints.clear();
    this.#nodes.clear();
  }
}
