import type { Logger } from 'pino';
import type { Bus, BusMessage, Publisher, Subscription, TopicQos } from '../../daemon/bus/index.ts';
import type { RosSettings } from '../../daemon/config/index.ts';
import type { RelayGuard } from '../../daemon/motion/index.ts';
import { entityErrorText, type BridgeReport } from './bridge-report.ts';
import { errorText } from '../../daemon/util/index.ts';
import { cdrHeaderProblem } from './cdr-header.ts';
import { publisherQos, subscriptionQos, toRclQos } from './qos.ts';
import { incompatiblePolicy, unheardPublishers } from './qos-match.ts';
import { EchoLedger } from './echo-ledger.ts';
import { typeClass, type Rclnodejs, type RosNode, type RosPublisher, type RosSubscription } from './rcl-api.ts';
import { SOURCE, type RosGraphSnapshot, type RosTopicEndpoint } from './ros-graph.ts';
import { ACTION_PART } from './service-bridge.ts';

export interface TopicBridgeOptions {
  rcl: Rclnodejs;
  node: RosNode;
  bus: Bus;
  settings: RosSettings;
  /** ROS topics to bring onto the bus (ros.topics and the recorder's selection, less ros.exclude). */
  bridgeIn: (topic: string) => boolean;
  /** Bus topics to publish to ROS (ros.publish). */
  bridgeOut: (topic: string) => boolean;
  /** The frame around a topic relayed into this graph from another (relayedCommandGuard), if it needs one. */
  guardOut?: (topic: string, type: string) => RelayGuard | undefined;
  report: BridgeReport;
  log: Logger;
}

interface Inbound {
  type: string;
  /** What its subscription requested. */
  qos: TopicQos;
  subscription: RosSubscription;
  publisher: Publisher;
}

interface Outbound {
  publisher: RosPublisher;
  subscription: Subscription;
  /** What its publisher offers. */
  qos: TopicQos;
  /** The GIDs of the ROS subscribers it cannot match, each logged once. */
  refused: Set<string>;
}

/** What the bus records as offered: best_effort if any publisher is, transient_local if all are. */
function offered(pubs: readonly RosTopicEndpoint[]): TopicQos {
  return {
    reliability: pubs.some((p) => p.qos.reliability === 'best_effort') ? 'best_effort' : 'reliable',
    durability: pubs.every((p) => p.qos.durability === 'transient_local') ? 'transient_local' : 'volatile',
    depth: Math.max(...pubs.map((p) => p.qos.depth)),
  };
}

/**
 * Topics both ways as raw CDR. In: a selected ROS topic is subscribed (isRaw) while a node other than the
 * daemon's publishes it, and dropped when the last one goes. Out: bus topics selected by ros.publish get a ROS
 * publisher of their own. No echo either way: a bus message that came from ROS is not sent back, and a ROS
 * message that is one of the daemon's own publications heard back is not put on the bus (an EchoLedger tells, as a
 * raw message comes with no MessageInfo to compare publisher GIDs).
 * Nothing here throws into rclnodejs's executor or into a bus publisher: failures are counted and reported.
 */
export class RosTopicBridge {
  #rcl: Rclnodejs;
  #node: RosNode;
  #bus: Bus;
  #settings: RosSettings;
  #bridgeIn: (topic: string) => boolean;
  #bridgeOut: (topic: string) => boolean;
  #guardOut: (topic: string, type: string) => RelayGuard | undefined;
  #report: BridgeReport;
  #log: Logger;
  #in = new Map<string, Inbound>();
  #out = new Map<string, Outbound>();
  #echoes = new EchoLedger();
  #unlisten: (() => void) | undefined;

  constructor(options: TopicBridgeOptions) {
    const { rcl, node, bus, settings, bridgeIn, bridgeOut, guardOut = () => undefined, report, log } = options;
    this.#guardOut = guardOut;
    this.#rcl = rcl;
    this.#node = node;
    this.#bus = bus;
    this.#settings = settings;
    this.#bridgeIn = bridgeIn;
    this.#bridgeOut = bridgeOut;
    this.#report = report;
    this.#log = log;
  }

  get inbound(): string[] {
    return [...this.#in.keys()].sort();
  }

  get outbound(): string[] {
    return [...this.#out.keys()].sort();
  }

  /** Starts publishing selected bus topics, those there now and those that appear later. */
  start(): void {
    this.#unlisten = this.#bus.onTopic((topic, type) => {
      if (this.#bridgeOut(topic) && !this.#out.has(topic)) this.#openOut(topic, type);
    });
  }

  /** Opens and drops inbound topics to match the graph. */
  reconcile(snapshot: RosGraphSnapshot): void {
    for (const [topic, { endpoints }] of snapshot.topics) {
      const pubs = endpoints.filter((e) => e.kind === 'publisher' && !e.local);
      // An action's feedback and status reach the bus with the action (ros.actions), never as topics of their own.
      if (topic.includes(ACTION_PART)) continue;
      if (pubs.length > 0 && !this.#in.has(topic) && this.#bridgeIn(topic)) this.#openIn(topic, pubs);
    }
    for (const topic of [...this.#in.keys()]) {
      const left = snapshot.topics.get(topic)?.endpoints.some((e) => e.kind === 'publisher' && !e.local) ?? false;
      if (!left) this.#drop(topic, 'its last publisher left');
    }
    // A publisher the subscription cannot match (a best_effort one to a reliable request) is never heard: said.
    for (const [topic, { qos }] of this.#in) {
      const endpoints = snapshot.topics.get(topic)?.endpoints ?? [];
      const publishers = endpoints.filter((e) => e.kind === 'publisher' && !e.local);
      const unheard = unheardPublishers({ topic, requested: qos, publishers });
      if (unheard === undefined) this.#report.resolved(`qos ${topic}`);
      else this.#report.problem(`qos ${topic}`, unheard);
    }
    for (const [topic, out] of this.#out) this.#logRefused(topic, out, snapshot.topics.get(topic)?.endpoints ?? []);
  }

  /**
   * Logs once each ROS subscriber the daemon's publisher cannot match, as an rclcpp publisher does: that node's
   * choice, so a warning, not a problem of the bridge.
   */
  #logRefused(topic: string, out: Outbound, endpoints: readonly RosTopicEndpoint[]): void {
    const refused = new Set<string>();
    for (const e of endpoints) {
      const policy = e.kind === 'subscriber' && !e.local ? incompatiblePolicy(e.qos, out.qos) : undefined;
      if (policy === undefined) continue;
      refused.add(e.gid);
      if (out.refused.has(e.gid)) continue;
      this.#log.warn(
        { topic, node: e.node, policy },
        `ros: ${e.node} subscribes to ${topic} requesting ${e.qos[policy]}, which the daemon's publisher ` +
          `(${out.qos[policy]}) cannot match: ROS 2 sends it none of its messages (incompatible QoS: ${policy}). ` +
          `Set ${policy}: ${e.qos[policy]} in ros.topic_qos["${topic}"] to offer it, or change that node's QoS`,
      );
    }
    out.refused = refused;
  }

  close(): void {
    this.#unlisten?.();
    for (const topic of [...this.#in.keys()]) this.#drop(topic, 'the bridge stopped');
    for (const [topic, out] of this.#out) {
      this.#bus.unsubscribe(out.subscription);
      this.#echoes.forget(topic);
      this.#destroy(`publisher of ${topic}`, () => this.#node.destroyPublisher(out.publisher));
    }
    this.#out.clear();
  }

  #openIn(topic: string, pubs: RosTopicEndpoint[]): void {
    const types = [...new Set(pubs.map((p) => p.type))];
    const type = types[0]!;
    if (types.length > 1)
      this.#report.problem(
        `types ${topic}`,
        `ROS topic ${topic} is published with ${types.length} types (${types.join(', ')}): bridging ${type}`,
      );
    let publisher: Publisher;
    try {
      publisher = this.#bus.advertise(topic, type, { source: SOURCE, qos: offered(pubs) });
    } catch (error) {
      this.#report.count('auraison_ros_errors_total', { kind: 'advertise', topic });
      this.#report.problem(`topic ${topic}`, `ROS topic ${topic} not bridged: ${errorText(error)}`);
      return;
    }
    const qos = subscriptionQos(
      this.#settings,
      topic,
      pubs.map((p) => p.qos),
    );
    try {
      const entry = { type, publisher, qos } as Inbound;
      // rclnodejs takes a raw message with no MessageInfo (rclTakeRaw), whatever the callback declares.
      entry.subscription = this.#node.createSubscription(
        typeClass(type),
        topic,
        { isRaw: true, qos: toRclQos(this.#rcl, qos) },
        (message: Buffer) => this.#received(topic, entry, message),
      );
      this.#in.set(topic, entry);
      this.#report.resolved(`topic ${topic}`);
      this.#log.info({ topic, type, qos }, 'ros: bridging topic onto the bus');
    } catch (error) {
      publisher.close();
      this.#report.count('auraison_ros_errors_total', { kind: 'subscribe', topic });
      this.#report.problem(
        `topic ${topic}`,
        `cannot subscribe to ROS topic ${topic} (${type}): ${entityErrorText(error, type)}`,
      );
    }
  }

  #received(topic: string, entry: Inbound, message: Buffer): void {
    try {
      const bytes = new Uint8Array(message.buffer, message.byteOffset, message.byteLength);
      // A node may publish any bytes as a serialized message (rclpy's publish of bytes): what has no CDR header
      // would only fail every reader of the bus, so it stops here, counted.
      const notCdr = cdrHeaderProblem(bytes);
      if (notCdr !== undefined) {
        this.#report.count('auraison_ros_errors_total', { kind: 'malformed', topic });
        this.#report.problem(
          `in ${topic}`,
          `a message of ROS topic ${topic} was dropped: it is not a serialized ROS message (${notCdr}); a node ` +
            'publishes bytes of its own on it',
        );
        return;
      }
      if (this.#echoes.isEcho(topic, bytes)) {
        this.#report.count('auraison_ros_echo_dropped_total', { topic });
        return;
      }
      // A raw message carries no source timestamp: the bus takes its receive time.
      entry.publisher.publish(bytes);
      this.#report.count('auraison_ros_messages_total', { topic, direction: 'in' });
      this.#report.resolved(`in ${topic}`);
    } catch (error) {
      this.#report.count('auraison_ros_errors_total', { kind: 'callback', topic });
      this.#report.problem(
        `in ${topic}`,
        `a message of ROS topic ${topic} was not put on the bus: ${errorText(error)}`,
      );
    }
  }

  #drop(topic: string, why: string): void {
    const entry = this.#in.get(topic);
    if (entry === undefined) return;
    this.#in.delete(topic);
    entry.publisher.close();
    this.#destroy(`subscription of ${topic}`, () => this.#node.destroySubscription(entry.subscription));
    this.#report.resolved(`in ${topic}`);
    this.#report.resolved(`qos ${topic}`);
    this.#log.info({ topic }, `ros: topic dropped from the bus: ${why}`);
  }

  #openOut(topic: string, type: string): void {
    // Called from inside bus.advertise: whatever fails here must not reach the advertiser.
    try {
      const qos = publisherQos(this.#settings, topic, this.#bus.topicQos(topic));
      const publisher = this.#node.createPublisher(typeClass(type), topic, { qos: toRclQos(this.#rcl, qos) });
      const guard = this.#guardOut(topic, type);
      // Only a topic also bridged in can hear the daemon's own messages back.
      if (this.#bridgeIn(topic))
        this.#echoes.track(topic, { latched: qos.durability === 'transient_local', depth: qos.depth });
      const subscription = this.#bus.subscribe({
        name: 'ros-bridge',
        topic,
        queue: { policy: 'drop-oldest', depth: qos.depth },
        handler: (msg) => this.#send(topic, publisher, msg, guard),
      });
      this.#out.set(topic, { publisher, subscription, qos, refused: new Set() });
      this.#log.info({ topic, type, qos }, 'ros: publishing bus topic to ROS');
    } catch (error) {
      this.#report.count('auraison_ros_errors_total', { kind: 'advertise', topic });
      this.#report.problem(
        `publish ${topic}`,
        `cannot publish bus topic ${topic} to ROS: ${entityErrorText(error, type)}`,
      );
    }
  }

  #send(topic: string, publisher: RosPublisher, msg: BusMessage, guard: RelayGuard | undefined): void {
    if (msg.source === SOURCE) return;
    try {
      const data = guard ? guard(msg.data, msg.source) : msg.data;
      if (data === undefined) return; // held while the stop is latched: the guard counted it
      // A Buffer over the same bytes: rclnodejs takes a raw message only as a Buffer (publisher.js), and
      // copies it into rcl synchronously.
      publisher.publish(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
      this.#echoes.sent(topic, data);
      this.#report.count('auraison_ros_messages_total', { topic, direction: 'out' });
      this.#report.resolved(`publish ${topic}`);
    } catch (error) {
      this.#report.count('auraison_ros_errors_total', { kind: 'publish', topic });
      this.#report.problem(`publish ${topic}`, `publishing ${topic} to ROS failed: ${errorText(error)}`);
    }
  }

  #destroy(what: string, destroy: () => void): void {
    try {
      destroy();
    } catch (error) {
      // Destroying after rclnodejs's own SIGINT handler shut the context down fails; nothing is left to free.
      this.#log.debug({ err: errorText(error) }, `ros: destroying the ${what} failed`);
    }
  }
}
