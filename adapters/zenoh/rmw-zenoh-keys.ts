import { xxh3_128 } from './xxh3-128.ts';
import type { GraphEndpointKind } from '../../daemon/bus/index.ts';
import type { TopicQos } from '../../daemon/bus/index.ts';

/**
 * rmw_zenoh's names on the wire (docs/design.md of ros2/rmw_zenoh, and its liveliness_utils.cpp):
 * data keys `<domain>/<fully qualified name without its leading slash>/<DDS type>/<RIHS01 hash>`, and
 * liveliness tokens
 * `@ros2_lv/<domain>/<zid>/<nid>/<id>/<kind>/<enclave>/<namespace>/<node>[/<name>/<DDS type>/<hash>/<qos>]`
 * where a name is mangled (every `/` becomes `%`, an empty one is `%`).
 */

export const ADMIN_SPACE = '@ros2_lv';
/** What rmw_zenoh puts in a token's hash chunk when a type has none (before Jazzy, or unknown .msg). */
export const NO_TYPE_HASH = 'TypeHashNotSupported';

const KIND_OF: Record<string, GraphEndpointKind | 'node'> = {
  NN: 'node',
  MP: 'publisher',
  MS: 'subscriber',
  SS: 'service',
  SC: 'client',
};
const CODE_OF: Record<GraphEndpointKind | 'node', string> = {
  node: 'NN',
  publisher: 'MP',
  subscriber: 'MS',
  service: 'SS',
  client: 'SC',
};

export function mangle(name: string): string {
  return name === '' ? '%' : name.replaceAll('/', '%');
}

export function demangle(name: string): string {
  return name.replaceAll('%', '/');
}

/** `sensor_msgs/msg/LaserScan` -> `sensor_msgs::msg::dds_::LaserScan_` (the type as DDS names it). */
export function ddsTypeName(rosType: string): string {
  const [pkg, kind, name] = rosType.split('/');
  if (pkg === undefined || kind === undefined || name === undefined)
    throw new Error(`not a ROS 2 type name: ${rosType}`);
  return `${pkg}::${kind}::dds_::${name}_`;
}

/** The reverse of ddsTypeName; undefined for a name in another form. */
export function rosTypeName(ddsType: string): string | undefined {
  const m = /^([^:]+)::(msg|srv|action)::dds_::(.+)_$/.exec(ddsType);
  return m ? `${m[1]}/${m[2]}/${m[3]}` : undefined;
}

/** The data key of a topic or service. */
export function dataKey(domain: number, name: string, rosType: string, typeHash: string | undefined): string {
  return `${domain}/${name.replace(/^\/+/, '')}/${ddsTypeName(rosType)}/${typeHash ?? NO_TYPE_HASH}`;
}

/** The key that matches a topic of a type whatever its hash (a peer of another distro, or no hash). */
export function dataKeyAnyHash(domain: number, name: string, rosType: string): string {
  return `${domain}/${name.replace(/^\/+/, '')}/${ddsTypeName(rosType)}/*`;
}

// rmw's enum values (rmw/types.h) and rmw_zenoh's default profile, whose fields a token leaves empty.
const RELIABLE = 1;
const BEST_EFFORT = 2;
const TRANSIENT_LOCAL = 1;
const VOLATILE = 2;
const KEEP_LAST = 1;
const DEFAULT_DEPTH = 42;

/** The QoS chunk of a token: `<rel>:<dur>:<hist>,<depth>:<deadline>:<lifespan>:<liveliness>`, defaults empty. */
export function qosToKeyexpr(qos: TopicQos): string {
  const rel = qos.reliability === 'best_effort' ? String(BEST_EFFORT) : '';
  const dur = qos.durability === 'transient_local' ? String(TRANSIENT_LOCAL) : '';
  const depth = qos.depth === DEFAULT_DEPTH ? '' : String(qos.depth);
  return `${rel}:${dur}:,${depth}:,:,:,,`;
}

/** Parses a token's QoS chunk; undefined when it is not one. KEEP_ALL is taken as a deep KEEP_LAST. */
export function keyexprToQos(text: string): TopicQos | undefined {
  const parts = text.split(':');
  if (parts.length < 6) return undefined;
  const [rel, dur, history] = parts as [string, string, string];
  const [kind = '', depthText = ''] = history.split(',');
  const num = (s: string, fallback: number) => (s === '' ? fallback : /^\d+$/.test(s) ? Number(s) : NaN);
  const r = num(rel, RELIABLE);
  const d = num(dur, VOLATILE);
  const k = num(kind, KEEP_LAST);
  const depth = num(depthText, DEFAULT_DEPTH);
  if ([r, d, k, depth].some(Number.isNaN)) return undefined;
  return {
    reliability: r === BEST_EFFORT ? 'best_effort' : 'reliable',
    durability: d === TRANSIENT_LOCAL ? 'transient_local' : 'volatile',
    depth: depth === 0 ? DEFAULT_DEPTH : depth,
  };
}

export interface NodeIdentity {
  domain: number;
  /** The Zenoh session id, in hex as zenoh prints it. */
  zid: string;
  nodeId: number;
  /** Namespace, `/` or `/robot1`. */
  namespace: string;
  name: string;
  enclave?: string;
}

export interface EntityToken {
  kind: GraphEndpointKind;
  entityId: number;
  /** Fully qualified topic or service name. */
  name: string;
  rosType: string;
  typeHash: string | undefined;
  qos: TopicQos;
}

function nodePrefix(node: NodeIdentity, id: number, code: string): string {
  const ns = node.namespace === '/' ? '' : node.namespace;
  return [
    ADMIN_SPACE,
    node.domain,
    node.zid,
    node.nodeId,
    id,
    code,
    mangle(node.enclave ?? ''),
    mangle(ns),
    mangle(node.name),
  ].join('/');
}

export function nodeToken(node: NodeIdentity): string {
  return nodePrefix(node, node.nodeId, CODE_OF.node);
}

export function entityToken(node: NodeIdentity, entity: EntityToken): string {
  const tail = [
    mangle(entity.name),
    ddsTypeName(entity.rosType),
    entity.typeHash ?? NO_TYPE_HASH,
    qosToKeyexpr(entity.qos),
  ];
  return `${nodePrefix(node, entity.entityId, CODE_OF[entity.kind])}/${tail.join('/')}`;
}

/**
 * The 16-byte GID of an entity as rmw_zenoh derives it (liveliness_utils.cpp): XXH3-128 of its liveliness
 * token, the low 64 bits then the high, each in the machine's byte order (little-endian on every ROS 2 target).
 */
export function entityGid(token: string): Uint8Array {
  const { low, high } = xxh3_128(new TextEncoder().encode(token));
  const gid = new Uint8Array(16);
  const view = new DataView(gid.buffer);
  view.setBigUint64(0, low, true);
  view.setBigUint64(8, high, true);
  return gid;
}

export type ParsedToken =
  | { kind: 'node'; zid: string; nodeId: string; node: string; namespace: string }
  | {
      kind: GraphEndpointKind;
      zid: string;
      nodeId: string;
      entityId: string;
      node: string;
      namespace: string;
      name: string;
      rosType: string;
      ddsType: string;
      typeHash: string | undefined;
      qos: TopicQos;
    };

function fullNodeName(namespace: string, node: string): string {
  return namespace === '/' ? `/${node}` : `${namespace}/${node}`;
}

/** Parses a liveliness token of rmw_zenoh; undefined when it is not one (or one of another domain). */
export function parseToken(key: string, domain: number): ParsedToken | undefined {
  const parts = key.split('/');
  if (parts[0] !== ADMIN_SPACE || parts.length < 9 || parts[1] !== String(domain)) return undefined;
  const [, , zid, nodeId, entityId, code, , ns, nodeName] = parts as string[] as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const kind = KIND_OF[code];
  if (kind === undefined) return undefined;
  const namespace = ns === '%' ? '/' : demangle(ns);
  const node = fullNodeName(namespace.startsWith('/') ? namespace : `/${namespace}`, demangle(nodeName));
  if (kind === 'node') return { kind, zid, nodeId, node, namespace };
  if (parts.length < 13) return undefined;
  const [name, ddsType, hash, qosText] = parts.slice(9, 13) as [string, string, string, string];
  const rosType = rosTypeName(ddsType);
  const qos = keyexprToQos(qosText);
  if (rosType === undefined || qos === undefined) return undefined;
  const topic = demangle(name);
  return {
    kind,
    zid,
    nodeId,
    entityId,
    node,
    namespace,
    name: topic.startsWith('/') ? topic : `/${topic}`,
    rosType,
    ddsType,
    typeHash: hash === NO_TYPE_HASH ? undefined : hash,
    qos,
  };
}

/** The attachment rmw_zenoh puts on every sample, request and reply. */
export interface Attachment {
  sequence: bigint;
  /** Source timestamp, ns since the epoch. */
  timestampNs: bigint;
  gid: Uint8Array;
}

/** 8 bytes sequence (LE int64), 8 bytes timestamp (LE int64), the GID's length (one byte, 16), the GID. */
export function encodeAttachment(attachment: Attachment): Uint8Array {
  const { gid } = attachment;
  const out = new Uint8Array(17 + gid.length);
  const view = new DataView(out.buffer);
  view.setBigInt64(0, attachment.sequence, true);
  view.setBigInt64(8, attachment.timestampNs, true);
  out[16] = gid.length;
  out.set(gid, 17);
  return out;
}

/** Undefined when the bytes are not an attachment of that form. */
export function decodeAttachment(bytes: Uint8Array): Attachment | undefined {
  if (bytes.length < 17) return undefined;
  const length = bytes[16]!;
  // The length is a LEB128 varint in rmw_zenoh's serializer; a GID is 16 bytes, so it is one byte.
  if (length >= 0x80 || bytes.length !== 17 + length) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { sequence: view.getBigInt64(0, true), timestampNs: view.getBigInt64(8, true), gid: bytes.slice(17) };
}
