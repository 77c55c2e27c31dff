/**
 * The part of rclnodejs (2.2.0) the bridge uses, declared here: what it calls, what it passes and what it reads
 * back, and nothing else. test/rcl-api/rcl-api-types.test.ts compiles test/rcl-api/rcl-api.check.ts against an
 * installed rclnodejs's own declarations (the ROS 2 peer's build), so a signature that drifts upstream fails there;
 * the test double (test/doubles/rclnodejs) implements this same surface.
 *
 * Members are function-typed properties, not methods, so that tsc checks their parameters both ways (strict
 * variance): what the bridge passes must be what rclnodejs takes. What rclnodejs makes and takes back (a QoS, the
 * node an action client is made on) is a type parameter, which the check sets to rclnodejs's own class; a publisher,
 * subscription or client handed back to be destroyed is a method's parameter, which tsc checks one way only.
 */

/** A ROS type in rclnodejs's object form, the form the bridge names every type in: its messages type as `object`. */
export interface TypeClass {
  package: string;
  type: string;
  name: string;
}

/**
 * rclnodejs's QoS (lib/qos.js), made by the module's QoS and given back in options. Its reliability is left out:
 * types/qos.d.ts declares it a method where lib/qos.js has a property.
 */
export interface RosQoS {
  history: number;
  depth: number;
  durability: number;
}

export interface RosPublisher {
  /** A raw message: the type's CDR bytes, taken only as a Buffer and copied into rcl at once. */
  publish: (message: Buffer) => void;
}

export interface RosSubscription {
  readonly topic: string;
}

export interface RosClient {
  sendRequestAsync: (request: object, options: { signal?: AbortSignal }) => Promise<object>;
}

/** What a service handler answers through: the response type's defaults, and send(). */
export interface RosServiceResponse {
  readonly template: object;
  send: (response: object) => void;
}

export interface NamesAndTypes {
  name: string;
  types: string[];
}

export interface RosNode<QoS = RosQoS> {
  name: () => string;
  namespace: () => string;
  createPublisher: (typeClass: TypeClass, topic: string, options: { qos: QoS }) => RosPublisher;
  /** isRaw: the callback gets the message's CDR bytes, with no MessageInfo (rclTakeRaw). */
  createSubscription: (
    typeClass: TypeClass,
    topic: string,
    options: { isRaw: true; qos: QoS },
    callback: (message: Buffer) => void,
  ) => RosSubscription;
  createClient: (typeClass: TypeClass, serviceName: string) => RosClient;
  createService: (
    typeClass: TypeClass,
    serviceName: string,
    handler: (request: object, response: RosServiceResponse) => void,
  ) => unknown;
  destroyPublisher(publisher: RosPublisher): void;
  destroySubscription(subscription: RosSubscription): void;
  destroyClient(client: RosClient): void;
  getNodeNamesAndNamespaces: () => { name: string; namespace: string }[];
  getTopicNamesAndTypes: () => NamesAndTypes[];
  /** Each element is a TopicEndpointInfo, typed `object` by rclnodejs: see asEndpointInfo. */
  getPublishersInfoByTopic: (topic: string, noDemangle: boolean) => object[];
  getSubscriptionsInfoByTopic: (topic: string, noDemangle: boolean) => object[];
  getServiceNamesAndTypesByNode: (nodeName: string, namespace: string) => NamesAndTypes[];
  getClientNamesAndTypesByNode: (nodeName: string, namespace: string) => NamesAndTypes[];
  spin: () => void;
  destroy: () => void;
}

export interface RosClientGoalHandle {
  readonly accepted: boolean;
  cancelGoal: () => Promise<unknown>;
  getResult: () => Promise<object>;
  isSucceeded: () => boolean;
  isCanceled: () => boolean;
}

export interface RosActionClient {
  /** goalUuid: unique_identifier_msgs/UUID, so a bus goal keeps its id on the ROS side. */
  sendGoal: (
    goal: object,
    feedback: (feedback: object) => void,
    goalUuid: { uuid: number[] },
  ) => Promise<RosClientGoalHandle>;
  isActionServerAvailable: () => boolean;
  destroy: () => void;
}

/** A goal a ROS client sent to the daemon's ActionServer. */
export interface RosServerGoalHandle {
  /** A generated message wrapper (see plainMessage). */
  readonly request: object;
  readonly isCancelRequested: boolean;
  publishFeedback: (feedback: object) => void;
  succeed: () => void;
  abort: () => void;
  canceled: () => void;
}

export interface RosActionServer {
  destroy: () => void;
}

/** The module: `QoS` and `Node` are what it makes and takes back (see the comment at the top). */
export interface Rclnodejs<QoS = RosQoS, Node = RosNode<QoS>> {
  init: () => Promise<void>;
  shutdown: () => void;
  isShutdown: () => boolean;
  Node: new (nodeName: string, namespace?: string) => Node;
  /** history, depth, reliability and durability as rmw's values (see RMW in qos.ts). */
  QoS: new (history: number, depth: number, reliability: number, durability: number) => QoS;
  ActionClient: new (node: Node, typeClass: TypeClass, actionName: string) => RosActionClient;
  /** goal and cancel answer with rclnodejs's GoalResponse and CancelResponse: REJECT 1, ACCEPT 2. */
  ActionServer: new (
    node: Node,
    typeClass: TypeClass,
    actionName: string,
    execute: (handle: RosServerGoalHandle) => Promise<object>,
    goal: (goal: object) => number,
    /** Left to rclnodejs: an accepted goal executes at once. */
    accepted: undefined,
    cancel: (handle?: RosServerGoalHandle) => number,
  ) => RosActionServer;
}

/** A message type as rclnodejs's object form: it types as `object`, as any type known only at run time does. */
export function typeClass(type: string): TypeClass {
  const [pkg = '', kind = '', name = ''] = type.split('/');
  return { package: pkg, type: kind, name };
}

/**
 * A message rclnodejs built (a generated wrapper, whose fields are getters over its native struct, as a goal
 * handle's request) as the plain object the bus takes; a plain object as it is.
 */
export function plainMessage(message: object): Record<string, unknown> {
  const { toPlainObject } = message as { toPlainObject?: (typedArrays: boolean) => Record<string, unknown> };
  return typeof toPlainObject === 'function'
    ? toPlainObject.call(message, false)
    : (message as Record<string, unknown>);
}

/**
 * One element of getPublishersInfoByTopic / getSubscriptionsInfoByTopic, which rclnodejs types as `object`:
 * the fields its native side sets (src/rcl_utilities.cpp, ConvertToJSTopicEndpoint, rclnodejs 2.2.0).
 */
export interface TopicEndpointInfo {
  node_name: string;
  node_namespace: string;
  topic_type: string;
  /** rmw_endpoint_type_t: 1 publisher, 2 subscription. */
  endpoint_type: number;
  /** RMW_GID_STORAGE_SIZE bytes, as numbers. */
  endpoint_gid: number[];
  /** After Humble only: RIHS01 hash. */
  topic_type_hash?: { version: number; value: Buffer };
  qos_profile: { depth: number; history: number; reliability: number; durability: number; liveliness: number };
}

/** Validates an element of a graph query at this boundary: rclnodejs gives it as `object`. */
export function asEndpointInfo(value: object): TopicEndpointInfo | undefined {
  const v = value as Partial<TopicEndpointInfo>;
  if (typeof v.node_name !== 'string' || typeof v.node_namespace !== 'string' || typeof v.topic_type !== 'string')
    return undefined;
  if (!Array.isArray(v.endpoint_gid) || typeof v.qos_profile !== 'object' || v.qos_profile === null) return undefined;
  return v as TopicEndpointInfo;
}
