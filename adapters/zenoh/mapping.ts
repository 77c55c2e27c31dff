import type { GraphEndpointKind, TopicQos } from '../../daemon/bus/index.ts';
import { isFullName } from '../../daemon/names/index.ts';
import * as rmw from './rmw-zenoh-keys.ts';

/** One entity of the graph as a liveliness token announces it. */
export interface AnnouncedEntity {
  kind: GraphEndpointKind | 'node';
  /** The announcing Zenoh session. */
  zid: string;
  /** Unique among the entities of every session (the token's own identity). */
  id: string;
  /** Fully qualified node name; a ros2dds bridge has no nodes, and is named after its session. */
  node: string;
  /** Topic or service name (not for nodes). */
  name: string;
  rosType: string;
  typeHash?: string;
  qos?: TopicQos;
}

/** The daemon's own node, as it declares itself. */
export interface LocalNode {
  zid: string;
  nodeId: number;
  namespace: string;
  name: string;
}

/** One of the daemon's endpoints, as its token announces it. */
export type LocalEntity = rmw.EntityToken;

/** How ROS 2 names become Zenoh keys and tokens: rmw_zenoh's or zenoh-bridge-ros2dds's. */
export interface Mapping {
  readonly name: 'rmw_zenoh' | 'ros2dds';
  /** The key expression of every liveliness token of the graph. */
  readonly livelinessKey: string;
  parseToken(key: string): AnnouncedEntity | undefined;
  /** The data key of a topic or service of a known type. */
  dataKey(name: string, rosType: string, typeHash: string | undefined): string;
  /** The key to subscribe to a topic with, matching publishers of any type hash. */
  subscribeKey(name: string, rosType: string): string;
  /** The token of the daemon's node; undefined where the mapping has none. */
  nodeToken(node: LocalNode): string | undefined;
  entityToken(node: LocalNode, entity: LocalEntity): string;
  /**
   * Whether an entity announces itself with a token of its own. Under zenoh-bridge-ros2dds an action's hidden
   * services and topics do not: its action token stands for them, and the bridge routes an action only for that.
   */
  announces(name: string): boolean;
  /** The token of an action's server or client, where the mapping has one (zenoh-bridge-ros2dds's AS and AC). */
  actionToken(node: LocalNode, kind: 'service' | 'client', action: string, actionType: string): string | undefined;
  /**
   * Whether the daemon's subscriber of a graph topic announces itself, as an rmw_zenoh node's does (what
   * `ros2 topic list -v` and `ros2 topic info` read). Not under zenoh-bridge-ros2dds, where a token is the bridge's
   * routing, and the daemon's subscriber needs none to be sent the robot's topics.
   */
  readonly announcesSubscribers: boolean;
  /** Whether samples and requests carry rmw_zenoh's attachment. */
  readonly attachments: boolean;
  /**
   * Whether service servers declare complete queryables, so a call may target ALL_COMPLETE as rmw_zenoh's
   * client does. zenoh-bridge-ros2dds declares its services' queryables not complete: an ALL_COMPLETE get
   * never reaches them, only BEST_MATCHING does.
   */
  readonly completeServers: boolean;
}

export function rmwZenohMapping(domain: number): Mapping {
  const identity = (node: LocalNode): rmw.NodeIdentity => ({ domain, ...node });
  return {
    name: 'rmw_zenoh',
    livelinessKey: `${rmw.ADMIN_SPACE}/${domain}/**`,
    announcesSubscribers: true,
    attachments: true,
    completeServers: true,
    parseToken: (key) => {
      const t = rmw.parseToken(key, domain);
      if (t === undefined) return undefined;
      if (t.kind === 'node')
        return { kind: 'node', zid: t.zid, id: `${t.zid}/${t.nodeId}`, node: t.node, name: t.node, rosType: '' };
      const { kind, zid, nodeId, entityId, node, name, rosType, typeHash, qos } = t;
      if (!isFullName(name)) return undefined; // not a ROS 2 name: no entity of a ROS 2 graph
      return {
        kind,
        zid,
        id: `${zid}/${nodeId}/${entityId}`,
        node,
        name,
        rosType,
        qos,
        ...(typeHash ? { typeHash } : {}),
      };
    },
    dataKey: (name, rosType, typeHash) => rmw.dataKey(domain, name, rosType, typeHash),
    subscribeKey: (name, rosType) => rmw.dataKeyAnyHash(domain, name, rosType),
    nodeToken: (node) => rmw.nodeToken(identity(node)),
    entityToken: (node, entity) => rmw.entityToken(identity(node), entity),
    // rmw_zenoh has no action tokens: rcl_action's services and topics announce themselves.
    announces: () => true,
    actionToken: () => undefined,
  };
}

// zenoh-bridge-ros2dds (src/liveliness_mgt.rs): `@/<zid>/@ros2_lv/<MP|MS|SS|SC>/<key>/<type>[/<qos>]`, with
// `/` in the key and the type written as `§`, and QoS as `<K if keyed>:<rel>:<dur>:<hist>,<depth>[:<user data>]`
// in DDS's enum values (reliability 0 best effort, 1 reliable; durability 0 volatile, 1 transient local).
const SLASH = '§';
const ROS2DDS_KIND: Record<string, GraphEndpointKind> = {
  MP: 'publisher',
  MS: 'subscriber',
  SS: 'service',
  SC: 'client',
};
// An action's token (AS, AC) stands for its server or client: the graph lists it as its send_goal service or
// client, as rcl_action's hidden services show it to `ros2 action list`.
const ROS2DDS_ACTION: Record<string, GraphEndpointKind> = { AS: 'service', AC: 'client' };
const ROS2DDS_ACTION_CODE = { service: 'AS', client: 'AC' } as const;
const ACTION_PART = /\/_action\/(send_goal|cancel_goal|get_result|feedback|status)$/;
const ROS2DDS_CODE: Record<GraphEndpointKind, string> = {
  publisher: 'MP',
  subscriber: 'MS',
  service: 'SS',
  client: 'SC',
};

/**
 * The depth a KEEP_ALL endpoint is read with: the bus has no KEEP_ALL, and the bridge caches a KEEP_ALL
 * transient_local writer's samples without limit, so a late joiner asks for this many rather than a shallow default.
 */
const ROS2DDS_KEEP_ALL_DEPTH = 1000;

/**
 * A token's QoS chunk, as the real bridge writes it from Cyclone DDS's discovery (checked in
 * test/ros2dds/ros2dds-qos-tokens.test.ts): a policy the endpoint left at its default may be absent, and an absent
 * history is the DDS default, KEEP_LAST 1; KEEP_ALL comes as `1,0`; USER_DATA (the type hash) may follow.
 */
function ros2ddsQos(text: string): TopicQos | undefined {
  const parts = text.split(':');
  if (parts.length < 4) return undefined;
  const [, rel, dur, history] = parts as [string, string, string, string];
  const [kind, depthText] = history === '' ? ['0', '1'] : history.split(',');
  const depth = Number(depthText);
  if ((kind !== '0' && kind !== '1') || !Number.isInteger(depth)) return undefined;
  return {
    reliability: rel === '0' ? 'best_effort' : 'reliable',
    durability: dur === '1' ? 'transient_local' : 'volatile',
    depth: kind === '1' ? ROS2DDS_KEEP_ALL_DEPTH : depth > 0 ? depth : 1,
  };
}

function ros2ddsQosText(qos: TopicQos): string {
  return `:${qos.reliability === 'reliable' ? 1 : 0}:${qos.durability === 'transient_local' ? 1 : 0}:0,${qos.depth}`;
}

/** `namespace` is the bridge's: every key the robot's bridge routes starts with it. */
export function ros2ddsMapping(namespace: string): Mapping {
  const prefix = namespace === '/' ? '' : namespace.replace(/^\//, '') + '/';
  const strip = (key: string) => (prefix !== '' && key.startsWith(prefix) ? key.slice(prefix.length) : key);
  const key = (name: string) => `${prefix}${name.replace(/^\/+/, '')}`;
  return {
    name: 'ros2dds',
    livelinessKey: '@/*/@ros2_lv/**',
    announcesSubscribers: false,
    attachments: false,
    completeServers: false,
    parseToken: (token) => {
      const parts = token.split('/');
      if (parts[0] !== '@' || parts[2] !== '@ros2_lv' || parts.length < 6) return undefined;
      const [, zid, , code, ke, type, qosText] = parts as [
        string,
        string,
        string,
        string,
        string,
        string,
        string | undefined,
      ];
      const action = ROS2DDS_ACTION[code] !== undefined;
      const kind = ROS2DDS_KIND[code] ?? ROS2DDS_ACTION[code];
      if (kind === undefined) return undefined;
      const qos = qosText === undefined ? undefined : ros2ddsQos(qosText);
      const name = `/${strip(ke.replaceAll(SLASH, '/'))}`;
      if (!isFullName(name)) return undefined; // not a ROS 2 name: no entity of a ROS 2 graph
      return {
        kind,
        zid,
        id: `${zid}/${code}/${ke}`,
        node: `/zenoh_bridge_ros2dds_${zid}`,
        name: action ? `${name}/_action/send_goal` : name,
        rosType: `${type.replaceAll(SLASH, '/')}${action ? '_SendGoal' : ''}`,
        ...(qos ? { qos } : {}),
      };
    },
    dataKey: (name) => key(name),
    subscribeKey: (name) => key(name),
    nodeToken: () => undefined,
    entityToken: (node, entity) => {
      const head = `@/${node.zid}/@ros2_lv/${ROS2DDS_CODE[entity.kind]}/${key(entity.name).replaceAll('/', SLASH)}/${entity.rosType.replaceAll('/', SLASH)}`;
      return entity.kind === 'publisher' || entity.kind === 'subscriber'
        ? `${head}/${ros2ddsQosText(entity.qos)}`
        : head;
    },
    announces: (name) => !ACTION_PART.test(name),
    actionToken: (node, kind, action, actionType) =>
      `@/${node.zid}/@ros2_lv/${ROS2DDS_ACTION_CODE[kind]}/${key(action).replaceAll('/', SLASH)}/${actionType.replaceAll('/', SLASH)}`,
  };
}
