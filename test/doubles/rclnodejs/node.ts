import type { Rcl, RosNode } from '../../../adapters/ros/index.ts';
import { DoublePublisher, DoubleSubscription, type EndpointAt, type RawCallback } from './entities.ts';
import { DoubleClient, DoubleService, type ServiceHandler } from './services.ts';
import type { RosWorld } from './world.ts';

type Msg = Rcl.TypeClass<Rcl.MessageTypeClassName>;
type Srv = Rcl.TypeClass<Rcl.ServiceTypeClassName>;

/** A node of the double's graph: the daemon's (made through the module's Node) or a test's peer. */
export class DoubleNode implements RosNode {
  #name: string;
  #namespace: string;
  spinning = false;
  destroyed = false;

  /** A peer stands for another process with its own ROS install: any type name goes. */
  constructor(
    readonly world: RosWorld,
    nodeName: string,
    namespace = '',
    readonly peer = false,
  ) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(nodeName)) throw new Error(`Invalid node name: ${nodeName}`);
    this.#name = nodeName;
    this.#namespace = namespace === '' ? '/' : namespace;
    world.addNode(this);
  }

  name(): string {
    return this.#name;
  }

  namespace(): string {
    return this.#namespace;
  }

  /** Relative names expand under the node's namespace, as rcl_expand_topic_name does. */
  expand(name: string): string {
    if (name.startsWith('/')) return name;
    return `${this.#namespace === '/' ? '' : this.#namespace}/${name}`;
  }

  createPublisher<T extends Msg>(typeClass: T, topic: string, options?: Rcl.Options): Rcl.Publisher<T> {
    const type = this.world.messageType(typeClass, this.peer);
    return this.world.addPublisher(
      new DoublePublisher(this.#at(typeClass, topic, type), options),
    ) as unknown as Rcl.Publisher<T>;
  }

  createSubscription<T extends Msg>(
    typeClass: T,
    topic: string,
    callback: Rcl.SubscriptionCallback<T>,
  ): Rcl.Subscription;
  createSubscription<T extends Msg>(
    typeClass: T,
    topic: string,
    options: Rcl.Options,
    callback: Rcl.SubscriptionCallback<T> | Rcl.SubscriptionWithRawMessageCallback,
  ): Rcl.Subscription;
  createSubscription<T extends Msg>(
    typeClass: T,
    topic: string,
    optionsOrCallback: Rcl.Options | Rcl.SubscriptionCallback<T>,
    callback?: Rcl.SubscriptionCallback<T> | Rcl.SubscriptionWithRawMessageCallback,
  ): Rcl.Subscription {
    const options = typeof optionsOrCallback === 'function' ? {} : optionsOrCallback;
    const cb = (typeof optionsOrCallback === 'function' ? optionsOrCallback : callback) as RawCallback;
    if (!options.isRaw)
      throw new Error('the rclnodejs double delivers raw (isRaw) messages only: it has no message classes');
    const type = this.world.messageType(typeClass, this.peer);
    return this.world.addSubscription(new DoubleSubscription(this.#at(typeClass, topic, type), options, cb));
  }

  createClient<T extends Srv>(typeClass: T, serviceName: string, options?: Rcl.Options): Rcl.Client<T> {
    const type = this.world.serviceType(typeClass, this.peer);
    const qos = (typeof options?.qos === 'object' ? options.qos : undefined) as Rcl.QoS;
    return this.world.addClient(
      new DoubleClient(this, typeClass, this.expand(serviceName), type, qos),
    ) as unknown as Rcl.Client<T>;
  }

  createService<T extends Srv>(
    typeClass: T,
    serviceName: string,
    callback: Rcl.ServiceRequestHandler<T>,
  ): Rcl.ServiceType<T>;
  createService<T extends Srv>(
    typeClass: T,
    serviceName: string,
    options: Rcl.Options,
    callback: Rcl.ServiceRequestHandler<T>,
  ): Rcl.ServiceType<T>;
  createService<T extends Srv>(
    typeClass: T,
    serviceName: string,
    optionsOrCallback: Rcl.Options | Rcl.ServiceRequestHandler<T>,
    handler?: Rcl.ServiceRequestHandler<T>,
  ): Rcl.ServiceType<T> {
    const callback = typeof optionsOrCallback === 'function' ? optionsOrCallback : handler!;
    const type = this.world.serviceType(typeClass, this.peer);
    const templates = this.world.serviceTemplates(type);
    const service = new DoubleService(
      this,
      this.expand(serviceName),
      type,
      templates,
      callback as unknown as ServiceHandler,
    );
    return this.world.addService(service) as unknown as Rcl.ServiceType<T>;
  }

  destroyPublisher<T extends Msg>(publisher: Rcl.Publisher<T>): void {
    this.world.remove(publisher);
  }

  destroySubscription(subscription: Rcl.Subscription): void {
    this.world.remove(subscription);
  }

  destroyClient<T extends Srv>(client: Rcl.Client<T>): void {
    this.world.remove(client);
  }

  getNodeNamesAndNamespaces(): Rcl.NodeNamesQueryResult[] {
    this.world.faultOf('graph');
    return this.world.liveNodes().map((n) => ({ name: n.name(), namespace: n.namespace() }));
  }

  getTopicNamesAndTypes(): Rcl.NamesAndTypesQueryResult[] {
    this.world.faultOf('graph');
    return this.world.topicNamesAndTypes();
  }

  getPublishersInfoByTopic(topic: string, _noDemangle: boolean): object[] {
    this.world.faultOf('graph');
    return this.world.endpointInfo(this.expand(topic), 'publisher');
  }

  getSubscriptionsInfoByTopic(topic: string, _noDemangle: boolean): object[] {
    this.world.faultOf('graph');
    return this.world.endpointInfo(this.expand(topic), 'subscription');
  }

  getServiceNamesAndTypesByNode(remoteNodeName: string, namespace = '/'): Rcl.NamesAndTypesQueryResult[] {
    this.world.faultOf('graph');
    return this.world.servicesOfNode(remoteNodeName, namespace, 'server');
  }

  getClientNamesAndTypesByNode(remoteNodeName: string, namespace = '/'): Rcl.NamesAndTypesQueryResult[] {
    this.world.faultOf('graph');
    return this.world.servicesOfNode(remoteNodeName, namespace, 'client');
  }

  #at(typeClass: Rcl.TypeClass, topic: string, type: string): EndpointAt {
    return { node: this, typeClass, topic: this.expand(topic), type, gid: this.world.gid() };
  }

  spin(): void {
    if (this.spinning) throw new Error('The node is already spinning.');
    this.spinning = true;
  }

  destroy(): void {
    this.spinning = false;
    this.destroyed = true;
    this.world.removeNode(this);
  }
}
