import { join } from 'node:path';
import { compileTopicSelection, MessageCodec } from '../../daemon/bus/index.ts';
import type { EdgeConfig } from '../../daemon/config/index.ts';
import { sideRelays, type RosSettings, type SideRelays } from '../../daemon/config/index.ts';
import type { MetricFamily, MetricsProvider } from '../../daemon/contract/index.ts';
import {
  commandGuard,
  doorGuard,
  type MotionGuard,
  relayedCommandGuard,
  type RelayedVelocityCounters,
} from '../../daemon/motion/index.ts';
import type { Component, ComponentContext, ComponentHealth } from '../../daemon/lifecycle/index.ts';
import { RosActionBridge } from './action-bridge.ts';
import { BridgeReport } from './bridge-report.ts';
import { errorText } from '../../daemon/util/index.ts';
import type { RclnodejsLoader } from './load-rclnodejs.ts';
import { localInterfacePackages } from './local-interfaces.ts';
import { generateMissingJavaScript, prepareLocalTypes, rclnodejsRoot } from './local-type-support.ts';
import type { Rclnodejs, RosNode } from './rcl-api.ts';
import { fullyQualified, GraphMirror, readRosGraph } from './ros-graph.ts';
import { RosServiceBridge } from './service-bridge.ts';
import { RosTopicBridge } from './topic-bridge.ts';
import { ungeneratedPackages } from './ungenerated-interfaces.ts';
import { lastHeld, relayMetricFamilies, type RelayFigures } from '../../daemon/contract/index.ts';

const NEVER = () => false;

/** ROS topics the bridge brings onto the bus: ros.topics, and (bridge_recorded) what the recorder or snapshot keeps. */
export function inboundSelection(config: Pick<EdgeConfig, 'ros' | 'recorder'>): (topic: string) => boolean {
  const { ros, recorder } = config;
  const own = compileTopicSelection(ros.topics);
  const recorded =
    ros.bridge_recorded && recorder.enabled ? compileTopicSelection(recorder.include, recorder.exclude) : NEVER;
  const { snapshot } = recorder;
  const buffered =
    ros.bridge_recorded && snapshot.enabled ? compileTopicSelection(snapshot.include, snapshot.exclude) : NEVER;
  const excluded = compileTopicSelection(ros.exclude);
  return (topic) => (own(topic) || recorded(topic) || buffered(topic)) && !excluded(topic);
}

interface Running {
  rcl: Rclnodejs;
  node: RosNode;
  self: string;
  topics: RosTopicBridge;
  services: RosServiceBridge;
  actions: RosActionBridge;
  /** The graph poll, once the bridges have started. */
  timer: NodeJS.Timeout | undefined;
  /** Ends a build of local types still under way. */
  building: AbortController;
}

/**
 * The daemon as a node of the ROS 2 graph, through rclnodejs (loaded by `load` at start, so a daemon without
 * ROS never imports it). It polls the graph into ctx.graph (source `ros`), bridges topics and services, and is
 * degraded, with a reason, while a graph query, a publish or a service fails; nothing of rclnodejs throws
 * out of it after start.
 */
export class RosComponent implements Component, MetricsProvider {
  readonly name = 'ros';
  #ctx: ComponentContext;
  #settings: RosSettings;
  #load: RclnodejsLoader;
  #report: BridgeReport;
  #mirror: GraphMirror;
  #relays: SideRelays;
  #relayGuards = new Map<string, RelayedVelocityCounters>();
  /** The motion guard at this graph's doors (commandGuard), following the daemon's config. */
  readonly #guard: () => MotionGuard;
  #running: Running | undefined;
  #polls = 0;
  #lastPollAt: string | null = null;

  constructor(ctx: ComponentContext, load: RclnodejsLoader) {
    this.#ctx = ctx;
    this.#settings = ctx.config.ros;
    this.#relays = sideRelays(ctx.config.relays, 'ros');
    this.#load = load;
    this.#report = new BridgeReport(ctx.log);
    this.#guard = doorGuard(ctx, new MessageCodec(ctx.definitions));
    this.#mirror = new GraphMirror(ctx.graph);
  }

  async start(): Promise<void> {
    const { bus, log, config } = this.#ctx;
    // The relays whose one side is this graph (docs/joined-graphs.md): bridged, served and called as the
    // settings' own, except that a topic relayed into this graph is never bridged back, nor one relayed from it
    // published to it.
    const relays = this.#relays;
    const settings: RosSettings = {
      ...this.#settings,
      services: {
        ...this.#settings.services,
        serve: this.#servedHere([...this.#settings.services.serve, ...relays.servicesServe]),
      },
      actions: { ...this.#settings.actions, serve: [...this.#settings.actions.serve, ...relays.actionsServe] },
    };
    const inbound = inboundSelection(config);
    const published = compileTopicSelection(settings.publish);
    const rcl = await this.#load();
    await rcl.init();
    try {
      const node = new rcl.Node(settings.node_name, settings.namespace);
      const self = fullyQualified(node.namespace(), node.name());
      const report = this.#report;
      const topics = new RosTopicBridge({
        rcl,
        node,
        bus,
        settings,
        bridgeIn: (topic) => !relays.topicsOut.has(topic) && (inbound(topic) || relays.topicsIn.has(topic)),
        bridgeOut: (topic) => !relays.topicsIn.has(topic) && (published(topic) || relays.topicsOut.has(topic)),
        guardOut: (topic, type) => this.#relayGuard(topic, type),
        report,
        log,
      });
      const services = new RosServiceBridge({
        node,
        bus,
        codec: new MessageCodec(this.#ctx.definitions),
        settings,
        callable: compileTopicSelection([...settings.services.call, ...relays.servicesCall]),
        self,
        report,
        log,
      });
      const actions = new RosActionBridge({
        rcl,
        node,
        bus,
        codec: new MessageCodec(this.#ctx.definitions),
        callable: compileTopicSelection([...settings.actions.call, ...relays.actionsCall]),
        serve: settings.actions.serve,
        // The motion guard's decision on a goal: the latch, an arm goal's joints, the geofence.
        refusal: (goal, type) => this.#guard().goalRefusal(type, goal)?.reason,
        track: this.#ctx.actionGoals,
        self,
        report,
        log,
      });
      node.spin();
      const running: Running = {
        rcl,
        node,
        self,
        topics,
        services,
        actions,
        timer: undefined,
        building: new AbortController(),
      };
      this.#running = running;
      log.info({ node: self, ros_distro: process.env.ROS_DISTRO }, 'ros: joined the ROS 2 graph');
      this.#beginOnceTypesAreReady(running);
    } catch (error) {
      this.#shutdown(rcl);
      throw error;
    }
  }

  /**
   * Starts the bridges at once or, where bus.definitions.dirs has packages the sourced ROS 2 lacks, once those are
   * built (a build takes longer than a start may). Without a sourced ROS 2 (the double) nothing is built.
   */
  #beginOnceTypesAreReady(running: Running): void {
    const { config, dataDir, log } = this.#ctx;
    const { AMENT_PREFIX_PATH: prefixes } = process.env;
    const packages = prefixes ? localInterfacePackages(config.bus.definitions.dirs, process.env) : [];
    const root = prefixes ? rclnodejsRoot(this.#settings.rclnodejs) : '';
    const ungenerated = prefixes ? ungeneratedPackages(process.env, root) : [];
    if (packages.length === 0 && ungenerated.length === 0) return this.#begin(running);
    const { signal } = running.building;
    const cacheDir = join(dataDir, 'ros-types');
    const report = this.#report;
    const ready = async () => {
      if (ungenerated.length > 0)
        await generateMissingJavaScript({
          packages: ungenerated,
          workDir: cacheDir,
          rclnodejsRoot: root,
          report,
          log,
          signal,
        });
      await prepareLocalTypes({ packages, cacheDir, rclnodejsRoot: root, report, log, signal });
    };
    void ready().then(() => {
      if (this.#running === running) this.#begin(running);
    });
  }

  /**
   * The services this node serves: all of `serve` but the one motion.stop.ros_service's process serves (two servers of
   * one service would split the calls between them, and the stop must not wait for this loop).
   */
  #servedHere(serve: RosSettings['services']['serve']): RosSettings['services']['serve'] {
    const { process: own, name } = this.#ctx.config.motion.stop.ros_service;
    if (!own) return serve;
    const here = serve.filter((s) => s.service !== name);
    if (here.length < serve.length)
      this.#ctx.log.info(
        { service: name },
        'ros: ros.services.serve names the service motion.stop.ros_service serves from its own process; only that process serves it',
      );
    return here;
  }

  /** Starts the bridges and the graph poll. */
  #begin(running: Running): void {
    running.services.start();
    running.topics.start();
    running.actions.start();
    running.timer = setInterval(() => this.#poll(), this.#settings.graph_poll_ms);
    running.timer.unref();
    this.#poll();
  }

  async close(): Promise<void> {
    const running = this.#running;
    if (running === undefined) return;
    this.#running = undefined;
    running.building.abort();
    clearInterval(running.timer);
    running.topics.close();
    running.services.close();
    running.actions.close();
    this.#mirror.clear();
    try {
      running.node.destroy();
    } catch (error) {
      // rclnodejs's own SIGINT handler may have shut the context down already; the node went with it.
      this.#ctx.log.debug({ err: errorText(error) }, 'ros: destroying the node failed');
    }
    this.#shutdown(running.rcl);
  }

  health(): ComponentHealth {
    const running = this.#running;
    if (running === undefined) return { state: 'stopped' };
    const reason = this.#report.reason();
    const { topics, services, actions, self } = running;
    const details = {
      node: self,
      ros_distro: process.env.ROS_DISTRO ?? null,
      graph_polls: this.#polls,
      last_graph_poll: this.#lastPollAt,
      topics_in: topics.inbound,
      topics_out: topics.outbound,
      services_called: services.called,
      services_served: services.served,
      actions_called: actions.called,
      actions_served: actions.served,
      messages_in: this.#report.total('auraison_ros_messages_total', { direction: 'in' }),
      messages_out: this.#report.total('auraison_ros_messages_total', { direction: 'out' }),
      echo_dropped: this.#report.total('auraison_ros_echo_dropped_total'),
      errors: this.#report.total('auraison_ros_errors_total'),
      problems: this.#report.problems,
      relays: this.#relayFigures(),
    };
    return reason === undefined ? { state: 'running', details } : { state: 'degraded', reason, details };
  }

  metrics(): MetricFamily[] {
    return [...this.#report.metrics(), ...relayMetricFamilies(this.#relayFigures())];
  }

  /**
   * The frame of each bus topic published into this graph (commandGuard): on a command topic nothing moves the robot
   * while the stop is latched, and a joint command no frame held before the bus is held to motion.joints; a command
   * relayed from another graph is also held to motion.velocity (relayedCommandGuard).
   */
  #relayGuard(topic: string, type: string) {
    const codec = new MessageCodec(this.#ctx.definitions);
    const latched = () => this.#ctx.haltAuthority.latch.refusal();
    const counters = { clamped: 0, held: 0 };
    const relayed = this.#relays.topicsOut.has(topic);
    if (relayed) this.#relayGuards.set(topic, counters);
    const inner = relayed
      ? relayedCommandGuard({ topic, type, codec, limits: this.#ctx.config.motion.velocity, latched, counters })
      : undefined;
    return commandGuard({ topic, type, codec, guard: this.#guard(), counters, ...(inner ? { inner } : {}) });
  }

  /** Each relay into this graph, by topic (docs/joined-graphs.md). */
  #relayFigures(): Record<string, RelayFigures> {
    return Object.fromEntries(
      [...this.#relays.topicsOut].map(([topic, { from, to }]) => [
        topic,
        {
          from,
          to,
          relayed: this.#report.total('auraison_ros_messages_total', { topic, direction: 'out' }),
          dropped: this.#report.total('auraison_ros_errors_total', { kind: 'publish', topic }),
          oversize: 0,
          clamped: this.#relayGuards.get(topic)?.clamped ?? 0,
          held: this.#relayGuards.get(topic)?.held ?? 0,
          ...lastHeld(this.#relayGuards.get(topic)),
        },
      ]),
    );
  }

  #poll(): void {
    const running = this.#running;
    if (running?.timer === undefined) return;
    try {
      const snapshot = readRosGraph(running.node, running.self);
      this.#polls += 1;
      this.#lastPollAt = new Date().toISOString();
      this.#report.resolved('graph');
      this.#mirror.apply(snapshot);
      running.topics.reconcile(snapshot);
      running.services.reconcile(snapshot);
      running.actions.reconcile(snapshot);
    } catch (error) {
      this.#report.count('auraison_ros_errors_total', { kind: 'graph' });
      this.#report.problem('graph', `reading the ROS graph failed: ${errorText(error)}`);
    }
  }

  #shutdown(rcl: Rclnodejs): void {
    try {
      if (!rcl.isShutdown()) rcl.shutdown();
    } catch (error) {
      this.#ctx.log.warn({ err: errorText(error) }, 'ros: rclnodejs shutdown failed');
    }
  }
}
