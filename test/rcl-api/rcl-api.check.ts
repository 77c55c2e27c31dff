// Compiled only by rcl-api-types.test.ts, against an installed rclnodejs's own declarations (`npm run typecheck` has
// no rclnodejs): if rclnodejs's types stop matching adapters/ros/rcl-api.ts, a line here fails tsc.
import type * as Rcl from 'rclnodejs';
import type { Rclnodejs, RosNode, TypeClass } from '../../adapters/ros/rcl-api.ts';

declare const rclnodejs: typeof Rcl;
declare const node: Rcl.Node;

/**
 * rclnodejs's module is the module the bridge declares, with its own QoS and Node as what it makes and takes back.
 * Its generic members are taken at TypeClass, the one form the bridge names types in (tsc infers no such instance
 * when it relates a generic overload to a plain signature).
 */
export const moduleAsTheBridgeDeclaresIt: Rclnodejs<Rcl.QoS, Rcl.Node> = {
  init: rclnodejs.init,
  shutdown: rclnodejs.shutdown,
  isShutdown: rclnodejs.isShutdown,
  Node: rclnodejs.Node,
  QoS: rclnodejs.QoS,
  ActionClient: rclnodejs.ActionClient<TypeClass>,
  ActionServer: rclnodejs.ActionServer<TypeClass>,
};

/**
 * rclnodejs's Node has every method the bridge calls, taking what the bridge passes and returning what it reads (the
 * publishers, subscriptions, clients and goal handles); the callbacks the bridge gives (a raw subscription's, a
 * service handler) take what rclnodejs calls them with.
 */
export const nodeAsTheBridgeDeclaresIt: RosNode<Rcl.QoS> = {
  name: node.name,
  namespace: node.namespace,
  createPublisher: node.createPublisher<TypeClass>,
  createSubscription: node.createSubscription<TypeClass>,
  createClient: node.createClient<TypeClass>,
  createService: node.createService<TypeClass>,
  destroyPublisher: node.destroyPublisher<TypeClass>,
  destroySubscription: node.destroySubscription,
  destroyClient: node.destroyClient<TypeClass>,
  getNodeNamesAndNamespaces: node.getNodeNamesAndNamespaces,
  getTopicNamesAndTypes: node.getTopicNamesAndTypes,
  getPublishersInfoByTopic: node.getPublishersInfoByTopic,
  getSubscriptionsInfoByTopic: node.getSubscriptionsInfoByTopic,
  getServiceNamesAndTypesByNode: node.getServiceNamesAndTypesByNode,
  getClientNamesAndTypesByNode: node.getClientNamesAndTypesByNode,
  spin: node.spin,
  destroy: node.destroy,
};

/** Not vacuous: rclnodejs's types resolved (a missing one would be `any`, which passes any check). */
type IsAny<T> = 0 extends 1 & T ? true : false;
export const resolved: [IsAny<typeof Rcl>, IsAny<Rcl.Node>, IsAny<Rcl.QoS>, IsAny<Rcl.Publisher<TypeClass>>] = [
  false,
  false,
  false,
  false,
];

/** The install generated types/interfaces.d.ts from the ROS 2 packages it found (rclnodejs's types name them). */
export const generated: 'std_msgs/msg/String' extends Rcl.MessageTypeClassName ? true : false = true;

/** A parameter the bridge would pass and rclnodejs does not take is refused: the check reads parameters both ways. */
declare const publisher: Rcl.Publisher<TypeClass>;
// @ts-expect-error rclnodejs's publish takes no string as its second argument
export const drifted: { publish: (message: Buffer, options: string) => void } = publisher;
