import type * as Rcl from 'rclnodejs';

/**
 * The part of rclnodejs the bridge uses, typed from rclnodejs's own declarations (vendored under
 * ./rclnodejs-types, see docs/bridges.md): a change of any of these signatures upstream fails tsc here and
 * in the test double, which implements this same surface.
 */
export type RosNode = Pick<
  Rcl.Node,
  | 'name'
  | 'namespace'
  | 'createSubscription'
  | 'createPublisher'
  | 'createClient'
  | 'createService'
  | 'destroySubscription'
  | 'destroyPublisher'
  | 'destroyClient'
  | 'getNodeNamesAndNamespaces'
  | 'getTopicNamesAndTypes'
  | 'getPublishersInfoByTopic'
  | 'getSubscriptionsInfoByTopic'
  | 'getServiceNamesAndTypesByNode'
  | 'getClientNamesAndTypesByNode'
  | 'spin'
  | 'destroy'
>;

/** An action's type class as the bridge gives it: the object form, whose messages type as `object`. */
type ActionClass = { package: string; type: string; name: string };

export type RosActionClient = Pick<
  Rcl.ActionClient<ActionClass>,
  'sendGoal' | 'isActionServerAvailable' | 'waitForServer' | 'destroy'
>;
export type RosActionServer = Pick<Rcl.ActionServer<ActionClass>, 'destroy'>;
export type RosClientGoalHandle = Rcl.ClientGoalHandle<ActionClass>;
export type RosServerGoalHandle = Rcl.ServerGoalHandle<ActionClass>;

export interface Rclnodejs {
  init: typeof Rcl.init;
  shutdown: typeof Rcl.shutdown;
  isShutdown: typeof Rcl.isShutdown;
  Node: new (nodeName: string, namespace?: string) => RosNode;
  QoS: new (...args: ConstructorParameters<typeof Rcl.QoS>) => Rcl.QoS;
  ActionClient: new (node: RosNode, typeClass: ActionClass, actionName: string) => RosActionClient;
  ActionServer: new (
    node: RosNode,
    typeClass: ActionClass,
    actionName: string,
    execute: Rcl.ExecuteCallback<ActionClass>,
    goal?: Rcl.GoalCallback<ActionClass>,
    accepted?: Rcl.HandleAcceptedCallback<ActionClass>,
    cancel?: Rcl.CancelCallback<ActionClass>,
  ) => RosActionServer;
}

export type { Rcl };

/** A message type as rclnodejs's object form: it types as `object`, as any type known only at run time does. */
export function typeClass(type: string): { package: string; type: string; name: string } {
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
