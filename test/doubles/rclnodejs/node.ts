import type {
  NamesAndTypes,
  RosClient,
  RosNode,
  RosPublisher,
  RosSubscription,
  TypeClass,
} from '../../../adapters/ros/index.ts';
import {
  DoublePublisher,
  DoubleSubscription,
  type DoubleOptions,
  type EndpointAt,
  type RawCallback,
} from './entities.ts';
import { DoubleClient, DoubleService, type ServiceHandler } from './services.ts';
import type { RosWorld } from './world.ts';

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

  createPublisher(typeClass: TypeClass, topic: string, options?: DoubleOptions): DoublePublisher {
    const type = this.world.messageType(typeClass, this.peer);
    return this.world.addPublisher(new DoublePublisher(this.#at(typeClass, topic, type), options));
  }

  createSubscription(
    typeClass: TypeClass,
    topic: string,
    options: DoubleOptions,
    callback: RawCallback,
  ): DoubleSubscription {
    if (!options.isRaw)
      throw new Error('the rclnodejs double delivers raw (isRaw) messages only: it has no message classes');
    const type = this.world.messageType(typeClass, this.peer);
    return this.world.addSubscription(new DoubleSubscription(this.#at(typeClass, topic, type), options, callback));
  }

  createClient(typeClass: TypeClass, serviceName: string): DoubleClient {
    const type = this.world.serviceType(typeClass, this.peer);
    return this.world.addClient(new DoubleClient(this, typeClass, this.expand(serviceName), type));
  }

  createService(typeClass: TypeClass, serviceName: string, handler: ServiceHandler): DoubleService {
    const type = this.world.serviceType(typeClass, this.peer);
    const templates = this.world.serviceTemplates(type);
    return this.world.addService(new DoubleService(this, this.expand(serviceName), type, templates, handler));
  }

  destroyPublisher(publisher: RosPublisher): void {
    this.world.remove(publisher);
  }

  destroySubscription(subscription: RosSubscription): void {
    this.world.remove(subscription);
  }

  destroyClient(client: RosClient): void {
    this.world.remove(client);
  }

  getNodeNamesAndNamespaces(): { name: string; namespace: string }[] {
    this.world.faultOf('graph');
    return this.world.liveNodes().map((n) => ({ name: n.name(), namespace: n.namespace() }));
  }

  getTopicNamesAndTypes(): NamesAndTypes[] {
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

  getServiceNamesAndTypesByNode(remoteNodeName: string, namespace = '/'): NamesAndTypes[] {
    this.world.faultOf('graph');
    return this.world.servicesOfNode(remoteNodeName, namespace, 'server');
  }

  getClientNamesAndTypesByNode(remoteNodeName: string, namespace = '/'): NamesAndTypes[] {
    this.world.faultOf('graph');
    return this.world.servicesOfNode(remoteNodeName, namespace, 'client');
  }

  #at(typeClass: TypeClass, topic: string, type: string): EndpointAt {
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
