import type { NamesAndTypes, Rclnodejs, TypeClass } from '../../../adapters/ros/index.ts';

/** A type as rclnodejs takes one: the object form the bridge uses, or the string form a test's peer may use. */
export type AnyTypeClass = TypeClass | string;
import { DoubleActionClient, DoubleActionServer } from './actions.ts';
import { type DoublePublisher, DoubleQoS, type DoubleSubscription, messageInfo } from './entities.ts';
import { DoubleNode } from './node.ts';
import type { DoubleClient, DoubleService } from './services.ts';

type Plain = Record<string, unknown>;

/** Request and response defaults of the service types the double knows (their .srv files' fields). */
const SERVICE_TEMPLATES: Record<string, { request: Plain; response: Plain }> = {
  'std_srvs/srv/Trigger': { request: {}, response: { success: false, message: '' } },
  'std_srvs/srv/SetBool': { request: { data: false }, response: { success: false, message: '' } },
  'std_srvs/srv/Empty': { request: {}, response: {} },
  'example_interfaces/srv/AddTwoInts': { request: { a: 0n, b: 0n }, response: { sum: 0n } },
};

const INSTALLED = new Set([
  'std_msgs',
  'sensor_msgs',
  'geometry_msgs',
  'nav_msgs',
  'tf2_msgs',
  'std_srvs',
  'example_interfaces',
  'rcl_interfaces',
  'test_msgs',
  'nav2_msgs',
  'action_msgs',
]);

/** rclnodejs's Node in `world`: made only between init() and shutdown(). */
function nodeClass(world: RosWorld) {
  return class Node extends DoubleNode {
    constructor(nodeName: string, namespace?: string) {
      if (!world.initialized) throw new Error('The context is not valid: call rclnodejs.init() first');
      super(world, nodeName, namespace);
    }
  };
}

/** Where rclnodejs's native side would fail: every graph query, or every publish. */
export type Fault = 'graph' | 'publish';

/**
 * The ROS 2 graph of the double: every node made through `module()` (the daemon) or `peer()` (a test) sees
 * the same topics and services, as nodes of one DDS domain do. Delivery is asynchronous, to spinning nodes,
 * between endpoints of one type whose QoS match (a reliable subscription takes no best_effort publisher, a
 * transient_local one no volatile publisher), with transient_local history for late joiners. Raw messages
 * only: the double has no message classes, so the bytes a test publishes are the bytes delivered.
 */
export class RosWorld {
  readonly nodes = new Set<DoubleNode>();
  readonly publishers = new Set<DoublePublisher>();
  readonly subscriptions = new Set<DoubleSubscription>();
  readonly services = new Set<DoubleService>();
  readonly clients = new Set<DoubleClient>();
  readonly actionServers = new Set<DoubleActionServer>();
  readonly actionClients = new Set<DoubleActionClient>();
  /** What rclnodejs would have logged (a service handler's rejection). */
  readonly logged: string[] = [];
  readonly faults = new Map<Fault, Error>();
  initialized = false;
  #nextGid = 1;

  /** The module as `import('rclnodejs')` gives it, bound to this graph. */
  module(): Rclnodejs {
    const Node = nodeClass(this);
    return {
      init: async () => {
        if (this.initialized) throw new Error('The context has already been initialized.');
        this.initialized = true;
      },
      shutdown: () => {
        for (const node of [...this.nodes]) if (node instanceof Node) node.destroy();
        this.initialized = false;
      },
      isShutdown: () => !this.initialized,
      Node,
      QoS: DoubleQoS,
      ActionClient: this.actionClientClass() as unknown as Rclnodejs['ActionClient'],
      ActionServer: this.actionServerClass() as unknown as Rclnodejs['ActionServer'],
    };
  }

  /** rclnodejs's ActionClient, bound to this graph: `new ActionClient(node, typeClass, name)`. */
  actionClientClass() {
    return actionClientIn(this);
  }

  /** rclnodejs's ActionServer, bound to this graph. */
  actionServerClass() {
    return actionServerIn(this);
  }

  /** An action type as rclnodejs's loader takes it: a package the ROS install lacks throws. */
  actionType(typeClass: AnyTypeClass, peer = false): string {
    const type = this.messageType(typeClass, peer);
    if (type.split('/')[1] !== 'action') throw new Error(`The message required does not exist: ${type} is no action`);
    return type;
  }

  /** A node of another process on the robot. */
  peer(name: string, namespace = ''): DoubleNode {
    const node = new DoubleNode(this, name, namespace, true);
    node.spin();
    return node;
  }

  gid(): number[] {
    const gid = Array.from({ length: 16 }, () => 0);
    const n = this.#nextGid++;
    gid[12] = (n >>> 24) & 0xff;
    gid[13] = (n >>> 16) & 0xff;
    gid[14] = (n >>> 8) & 0xff;
    gid[15] = n & 0xff;
    return gid;
  }

  faultOf(fault: Fault): void {
    const error = this.faults.get(fault);
    if (error) throw error;
  }

  /** rclnodejs's interface loader: a type of a package the ROS install lacks throws. */
  messageType(typeClass: AnyTypeClass, peer = false): string {
    const type = typeof typeClass === 'string' ? typeClass : `${typeClass.package}/${typeClass.type}/${typeClass.name}`;
    const [pkg = '', kind = '', name = ''] = type.split('/');
    if ((!peer && !INSTALLED.has(pkg)) || name === '')
      throw new Error(`The message required does not exist: ${pkg}, ${kind}, ${name} at /double/generated`);
    return type;
  }

  serviceType(typeClass: AnyTypeClass, peer = false): string {
    const type = this.messageType(typeClass, peer);
    if (SERVICE_TEMPLATES[type] === undefined) throw new Error(`The message required does not exist: ${type}`);
    return type;
  }

  serviceTemplates(type: string): { request: Plain; response: Plain } {
    return SERVICE_TEMPLATES[type]!;
  }

  addNode(node: DoubleNode): void {
    for (const n of this.nodes) {
      if (n.name() === node.name() && n.namespace() === node.namespace())
        throw new Error(`a node ${node.namespace()}/${node.name()} exists already`);
    }
    this.nodes.add(node);
  }

  removeNode(node: DoubleNode): void {
    this.nodes.delete(node);
    for (const set of [
      this.publishers,
      this.subscriptions,
      this.services,
      this.clients,
      this.actionServers,
      this.actionClients,
    ] as Set<{
      node: DoubleNode;
    }>[]) {
      for (const e of [...set]) if (e.node === node) set.delete(e);
    }
  }

  liveNodes(): DoubleNode[] {
    return [...this.nodes];
  }

  addPublisher(publisher: DoublePublisher): DoublePublisher {
    this.publishers.add(publisher);
    return publisher;
  }

  addSubscription(subscription: DoubleSubscription): DoubleSubscription {
    this.subscriptions.add(subscription);
    // A transient_local subscription gets what matching transient_local publishers kept.
    for (const publisher of this.matchedPublishers(subscription)) {
      if (publisher.wire.durability === 1)
        for (const bytes of publisher.kept) this.#deliver(publisher, subscription, bytes);
    }
    return subscription;
  }

  addService(service: DoubleService): DoubleService {
    this.services.add(service);
    return service;
  }

  addClient(client: DoubleClient): DoubleClient {
    this.clients.add(client);
    return client;
  }

  remove(entity: object): void {
    for (const set of [this.publishers, this.subscriptions, this.services, this.clients] as Set<object>[])
      set.delete(entity);
  }

  #matches(p: DoublePublisher, s: DoubleSubscription): boolean {
    if (p.topic !== s.topic || p.type !== s.type) return false;
    if (s.wire.reliability === 1 && p.wire.reliability === 2) return false;
    if (s.wire.durability === 1 && p.wire.durability !== 1) return false;
    return true;
  }

  matchedSubscriptions(p: DoublePublisher): DoubleSubscription[] {
    return [...this.subscriptions].filter((s) => this.#matches(p, s));
  }

  matchedPublishers(s: DoubleSubscription): DoublePublisher[] {
    return [...this.publishers].filter((p) => this.#matches(p, s));
  }

  publish(publisher: DoublePublisher, message: object | Buffer): void {
    this.faultOf('publish');
    if (!(message instanceof Buffer)) throw new Error('the rclnodejs double publishes raw messages (a Buffer) only');
    publisher.sequence += 1n;
    const bytes = Buffer.from(message);
    if (publisher.wire.durability === 1) {
      publisher.kept.push(bytes);
      if (publisher.kept.length > Math.max(1, publisher.wire.depth)) publisher.kept.shift();
    }
    for (const s of this.matchedSubscriptions(publisher)) this.#deliver(publisher, s, bytes);
  }

  #deliver(publisher: DoublePublisher, subscription: DoubleSubscription, bytes: Buffer): void {
    const sent = BigInt(Date.now()) * 1_000_000n;
    setImmediate(() => {
      if (!subscription.node.spinning || !this.subscriptions.has(subscription)) return;
      subscription.received += 1n;
      // rcl hands over a copy. rclnodejs 2.2.0 takes a raw message with rclTakeRaw, which passes no MessageInfo
      // whatever the callback declares (lib/node.js); a typed one gets it only with two declared parameters.
      const copy = Buffer.from(bytes);
      if (subscription.callback.length >= 2 && !subscription.isRaw)
        subscription.callback(copy, messageInfo(publisher, subscription.received, sent));
      else subscription.callback(copy);
    });
  }

  serverOf(client: DoubleClient): DoubleService | undefined {
    return [...this.services].find(
      (s) => s.serviceName === client.serviceName && s.type === client.type && s.node.spinning,
    );
  }

  /** A request reaches a spinning server of its name and type; with none it is lost, as in DDS. */
  request(client: DoubleClient, request: Plain, reply: (response: Plain) => void): void {
    const server = this.serverOf(client);
    if (server === undefined) return;
    setImmediate(() => server.processRequest(request, (response) => setImmediate(() => reply(response))));
  }

  topicNamesAndTypes(): NamesAndTypes[] {
    const byName = new Map<string, Set<string>>();
    for (const e of [...this.publishers, ...this.subscriptions]) {
      if (!byName.has(e.topic)) byName.set(e.topic, new Set());
      byName.get(e.topic)!.add(e.type);
    }
    return [...byName].sort(([a], [b]) => a.localeCompare(b)).map(([name, types]) => ({ name, types: [...types] }));
  }

  /** TopicEndpointInfo as src/rcl_utilities.cpp builds it (Jazzy: with topic_type_hash). */
  endpointInfo(topic: string, kind: 'publisher' | 'subscription'): object[] {
    const list: (DoublePublisher | DoubleSubscription)[] =
      kind === 'publisher' ? [...this.publishers] : [...this.subscriptions];
    return list
      .filter((e) => e.topic === topic)
      .map((e) => ({
        node_name: e.node.name(),
        node_namespace: e.node.namespace(),
        topic_type: e.type,
        topic_type_hash: { version: 1, value: Buffer.alloc(32) },
        endpoint_type: kind === 'publisher' ? 1 : 2,
        endpoint_gid: [...e.gid],
        qos_profile: {
          ...e.wire,
          lifespan: { seconds: 0n, nanoseconds: 0 },
          deadline: { seconds: 0n, nanoseconds: 0 },
          liveliness: 1,
          liveliness_lease_duration: { seconds: 0n, nanoseconds: 0 },
          avoid_ros_namespace_conventions: false,
        },
      }));
  }

  /** rcl_get_*_names_and_types_by_node: an unknown node is an error. */
  servicesOfNode(name: string, namespace: string, role: 'server' | 'client'): NamesAndTypes[] {
    const node = [...this.nodes].find(
      (n) => n.name() === name && n.namespace() === (namespace === '' ? '/' : namespace),
    );
    if (node === undefined)
      throw new Error(`Failed to get_service_names_and_types_by_node: Node name not found: ${namespace}/${name}`);
    const list: (DoubleService | DoubleClient)[] = role === 'server' ? [...this.services] : [...this.clients];
    const actions: (DoubleActionServer | DoubleActionClient)[] =
      role === 'server' ? [...this.actionServers] : [...this.actionClients];
    // An action is its three services, hidden (`_action`) but listed by rcl (ros2 service list --include-hidden).
    const actionServices = actions
      .filter((a) => a.node === node)
      .flatMap(({ actionName: name, type }) => [
        { name: `${name}/_action/cancel_goal`, types: ['action_msgs/srv/CancelGoal'] },
        { name: `${name}/_action/get_result`, types: [`${type}_GetResult`] },
        { name: `${name}/_action/send_goal`, types: [`${type}_SendGoal`] },
      ]);
    return [
      ...list.filter((e) => e.node === node).map((e) => ({ name: e.serviceName, types: [e.type] })),
      ...actionServices,
    ];
  }
}

function actionClientIn(world: RosWorld) {
  return class ActionClient extends DoubleActionClient {
    constructor(node: DoubleNode, typeClass: AnyTypeClass, actionName: string) {
      super(world, node, typeClass, actionName);
    }
  };
}

function actionServerIn(world: RosWorld) {
  type Callback = ConstructorParameters<typeof DoubleActionServer>[4];
  return class ActionServer extends DoubleActionServer {
    constructor(node: DoubleNode, typeClass: AnyTypeClass, actionName: string, ...callbacks: unknown[]) {
      const [execute, goal, accepted, cancel] = callbacks as [Callback, ...never[]];
      super(world, node, typeClass, actionName, execute, goal, accepted, cancel);
    }
  };
}
