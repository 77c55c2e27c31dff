// Over 400 lines because it is the one lifecycle of a link's parts (session, graph, bridges both ways, queries,
// services, actions, the off-loop stop) and its status; each part is a module of its own, started and closed here.
import { randomInt } from 'node:crypto';
import { compileTopicSelection, MessageCodec } from '../../daemon/bus/index.ts';
import { sideRelays, type SideRelays, type ZenohSettings } from '../../daemon/config/index.ts';
import type { GraphQueries, MetricFamily, MetricsProvider } from '../../daemon/contract/index.ts';
import type { Component, ComponentContext, ComponentHealth } from '../../daemon/lifecycle/index.ts';
import { doorGuard, type MotionGuard, type RelayedVelocityCounters } from '../../daemon/motion/index.ts';
import { HALT_QUERY } from '../../daemon/halt/index.ts';
import { TWIST, TWIST_STAMPED } from '../../daemon/motion/index.ts';
import { errorText, rateLimitedErrors } from '../../daemon/util/index.ts';
import { ZenohActionBridge } from './action-bridge.ts';
import { BulkLane } from './bulk-lane.ts';
import type { ActionContext } from './action-proxy.ts';
import { ZenohServedAction } from './action-served.ts';
import { GraphDiscovery } from './graph-discovery.ts';
import { InboundBridge } from './inbound-bridge.ts';
import { ros2ddsMapping, rmwZenohMapping, type AnnouncedEntity, type LocalNode, type Mapping } from './mapping.ts';
import { OffLoopHalt, haltDoorsOf } from './off-loop-halt.ts';
import { OutboundBridge } from './outbound-bridge.ts';
import { PacedWork } from './paced-work.ts';
import { relayDetails, relayMetrics, withLabel } from './relay-side.ts';
import { QueryServer } from './query-server.ts';
import { ServiceClient, ServiceServer, serviceCounters, type ServiceContext } from './service-bridge.ts';
import { TopicCap } from './topic-cap.ts';
import { TypeHashes } from './type-hashes.ts';
import { ZenohLink, type Handle } from './zenoh-link.ts';
import { linkHealth } from './link-health.ts';
import { graphQueries } from './graph-queries.ts';
import { zenohMetrics } from './zenoh-metrics.ts';
import { loadZenoh, type ZenohModule } from './zenoh-runtime.ts';

/**
 * The daemon as a node of a robot's Zenoh graph (rmw_zenoh or zenoh-bridge-ros2dds keys): it announces its
 * node and endpoints by liveliness tokens, learns the graph from everyone else's into RobotGraph, bridges
 * the selected topics both ways as CDR bytes, serves bus queries as queryables and services, and calls the
 * graph's services. It starts whether or not the router is there: while the link is down it is degraded,
 * says why, and keeps everything declared for when the link comes back. A second instance, of the other mapping, is
 * zenoh.second_link (name and bus source `zenoh_second`); each carries its side of the relays (config `relays`).
 */
export class ZenohComponent implements Component, MetricsProvider {
  readonly name: string;
  #ctx: ComponentContext;
  #settings: ZenohSettings;
  /** The motion guard on the goals this side sends or serves, following the daemon's config. */
  readonly #guard: () => MotionGuard;
  /** The bus and graph source of what comes from this link's graph. */
  #source: string;
  #relays: SideRelays;
  #relayCounters = new Map<string, RelayedVelocityCounters>();
  #callsServices: boolean;
  #mapping: Mapping;
  #link: ZenohLink;
  #bulkLink: ZenohLink | BulkLane | undefined;
  #receiveLink: ZenohLink | undefined;
  #discovery: GraphDiscovery;
  #codec: MessageCodec;
  #nodeId = randomInt(1, 2 ** 31);
  #nextEntityId = 1;
  #bridged: (topic: string) => boolean;
  #published: (topic: string) => boolean;
  #callable: (service: string) => boolean;
  #inbound: InboundBridge;
  #outbound: OutboundBridge;
  #clients = new Map<string, ServiceClient>();
  #servers: ServiceServer[] = [];
  #refused = new Map<string, string>();
  #ownGids = new Set<string>();
  #typeHashes: TypeHashes;
  #serviceCounters = serviceCounters();
  #handles: Handle[] = [];
  #queries: QueryServer | undefined;
  /** agent/stop as a queryable on the main loop (zenoh.queries names it), while the stop listener's thread does not. */
  #stopQuery: QueryServer | undefined;
  #offLoop: OffLoopHalt;
  #actions: ZenohActionBridge | undefined;
  #servedActions: ZenohServedAction[] = [];
  /** The feedback and status topics of the served actions: published as zenoh.publish's are. */
  #servedActionTopics = new Set<string>();
  #unlisten: (() => void) | undefined;
  #zenoh: ZenohModule | undefined;
  #closed = false;
  #oversizeLog: ReturnType<typeof rateLimitedErrors>;
  #cap: TopicCap;
  #reconciling: PacedWork;

  /** Queries to the graph over this link (PORTS.graphQueries): a loop asks another daemon's served policy so. */
  get graphQueries(): GraphQueries {
    return graphQueries(this.#link);
  }

  /** `settings` and `name` (also its source) default to zenoh's; the second link passes its own. */
  constructor(ctx: ComponentContext, options: { settings?: ZenohSettings; name?: string } = {}) {
    const { settings = ctx.config.zenoh, name = 'zenoh' } = options;
    this.name = name;
    this.#source = name;
    this.#relays = sideRelays(ctx.config.relays, settings.mapping);
    this.#ctx = ctx;
    this.#settings = settings;
    this.#guard = doorGuard(ctx, new MessageCodec(ctx.definitions));
    this.#codec = new MessageCodec(ctx.definitions);
    this.#typeHashes = new TypeHashes({ ctx, source: this.#source });
    this.#oversizeLog = rateLimitedErrors(ctx.log, { first: 1 });
    this.#cap = new TopicCap({ max: settings.max_bridged_topics, log: ctx.log });
    // Tokens come one per message: one reconcile answers a burst of them, a few declarations at a time.
    this.#reconciling = new PacedWork({ run: (budget) => this.#reconcile(budget) });
    this.#mapping =
      settings.mapping === 'rmw_zenoh' ? rmwZenohMapping(settings.domain_id) : ros2ddsMapping(settings.namespace);
    const { recorder } = ctx.config;
    const recorded =
      settings.bridge_recorded && recorder.enabled
        ? compileTopicSelection(recorder.include, recorder.exclude)
        : () => false;
    const chosen = compileTopicSelection(settings.topics);
    const { topicsIn, topicsOut } = this.#relays;
    // A topic relayed to this graph is never bridged back in, and one relayed from it never published to it, whatever
    // the globs say: the relayed sample must not come back to the bus (a loop, and a second copy recorded).
    this.#bridged = (topic) => !topicsOut.has(topic) && (chosen(topic) || recorded(topic) || topicsIn.has(topic));
    const published = compileTopicSelection(settings.publish);
    this.#published = (topic) =>
      !topicsIn.has(topic) && (published(topic) || this.#servedActionTopics.has(topic) || topicsOut.has(topic));
    const calls = [...settings.services.call, ...this.#relays.servicesCall];
    this.#callsServices = calls.length > 0;
    this.#callable = compileTopicSelection(calls);
    this.#link = new ZenohLink({
      ...this.#linkOptions(settings, ctx),
      onState: (state, reason) => {
        if (state === 'up') ctx.log.info({ endpoint: settings.endpoint }, 'zenoh: link up');
        else if (state === 'down') ctx.log.warn({ endpoint: settings.endpoint, reason }, 'zenoh: link down');
      },
    });
    // A second session for bulk topics: one WebSocket is one FIFO, where a 5 MB sample would hold up every
    // small one behind it before Zenoh's priorities can act.
    const bulk =
      settings.bulk_lane && settings.topic_qos.some((q) => q.priority === 'data_low' || q.priority === 'background');
    // In a thread of its own (bulk_lane_thread): zenoh-ts encodes a put on the thread that calls it. Camera frames
    // take that thread whatever their priority, so with no bulk topic it starts with the first frame topic.
    const bulkOptions = { ...this.#linkOptions(settings, ctx), onState: undefined };
    if (settings.bulk_lane && settings.bulk_lane_thread)
      this.#bulkLink = new BulkLane({ ...bulkOptions, onDemand: !bulk });
    else if (bulk) this.#bulkLink = new ZenohLink(bulkOptions);
    // A third for the graph's topics coming in: a session that sends (puts, requests) holds its incoming
    // samples up to 40 ms each time (docs/bridges.md, receive_lane).
    this.#receiveLink = settings.receive_lane
      ? new ZenohLink({ ...this.#linkOptions(settings, ctx), onState: undefined, keepaliveWhenQuiet: true })
      : undefined;
    const { log: _log, ...linkSettings } = this.#linkOptions(settings, ctx);
    this.#offLoop = new OffLoopHalt({
      name,
      haltAuthority: ctx.haltAuthority,
      linkSettings,
      attachments: this.#mapping.attachments,
      doors: haltDoorsOf({
        queries: settings.queries,
        services: this.#servedServices(),
        mapping: this.#mapping,
        definitions: ctx.definitions,
      }),
      serveHere: (here) => this.#serveHaltHere(here),
    });
    this.#outbound = new OutboundBridge({
      ctx,
      settings,
      source: this.#source,
      link: this.#link,
      bulkLink: this.#bulkLink,
      offLoop: this.#offLoop,
      mapping: this.#mapping,
      codec: this.#codec,
      relays: this.#relays,
      relayCounters: this.#relayCounters,
      zenoh: () => this.#zenoh!,
      published: this.#published,
      bridgedIn: (topic) => this.#inbound.topics.has(topic),
      node: () => this.#node(),
      entityId: () => this.#nextEntityId++,
      publishHash: (topic, rosType) => this.#typeHashes.forPublish(topic, rosType),
      ownGids: this.#ownGids,
      oversizeLog: this.#oversizeLog,
    });
    this.#discovery = new GraphDiscovery({
      graph: ctx.graph,
      mapping: this.#mapping,
      isLocal: (e) => this.#isLocal(e),
      onChange: () => this.#reconciling.request(),
      source: this.#source,
    });
    this.#inbound = new InboundBridge({
      ctx,
      settings,
      source: this.#source,
      link: this.#link,
      receiveLink: this.#receiveLink,
      bulkLane: this.#bulkLink instanceof BulkLane ? this.#bulkLink : undefined,
      mapping: this.#mapping,
      codec: this.#codec,
      discovery: this.#discovery,
      cap: this.#cap,
      bridged: this.#bridged,
      publishedOut: (topic) => this.#outbound.topics.has(topic),
      node: () => this.#node(),
      entityId: () => this.#nextEntityId++,
      ownGids: this.#ownGids,
      refused: this.#refused,
      oversizeLog: this.#oversizeLog,
    });
  }

  async start(): Promise<void> {
    this.#zenoh = await loadZenoh();
    const node = this.#node();
    if (this.#mapping.nodeToken(node) !== undefined)
      this.#handles.push(this.#link.declareToken(() => this.#mapping.nodeToken(this.#node())!));
    this.#handles.push(
      this.#link.declareLivelinessSubscriber(this.#mapping.livelinessKey, (sample) => {
        this.#discovery.token(sample.keyexpr().toString(), sample.kind() === this.#zenoh!.SampleKind.PUT);
      }),
    );
    // Before the liveliness subscriber is declared again: the tokens its history brings belong to the new session.
    this.#link.onOpen(() => this.#discovery.newSession());
    this.#link.onUp(() => {
      this.#discovery.settle(this.#settings.history_settle_ms);
      // As rmw_zenoh does at start: the liveliness subscriber's history alone missed tokens through the bridge.
      this.#link.livelinessGet(this.#mapping.livelinessKey, this.#settings.response_timeout_ms).then(
        (keys) => keys.forEach((key) => this.#discovery.token(key, true)),
        (error: unknown) =>
          this.#ctx.log.warn({ err: errorText(error) }, "zenoh: could not read the graph's liveliness tokens"),
      );
    });
    this.#queries = this.#queryServer(
      this.#settings.queries.filter((key) => key !== HALT_QUERY),
      (name) => name === HALT_QUERY && this.#offLoop.offLoop,
    );
    const actionCalls = [...this.#settings.actions.call, ...this.#relays.actionsCall];
    if (actionCalls.length > 0)
      this.#actions = new ZenohActionBridge({
        ctx: this.#actionContext(),
        callable: compileTopicSelection(actionCalls),
      });
    for (const entry of this.#servedServices())
      this.#servers.push(new ServiceServer(this.#serviceContext(), entry, this.#serviceCounters));
    for (const entry of [...this.#settings.actions.serve, ...this.#relays.actionsServe]) {
      const served = new ZenohServedAction({ ctx: this.#actionContext(), entry, counters: this.#serviceCounters });
      this.#servedActions.push(served);
      for (const topic of served.publishedTopics) this.#servedActionTopics.add(topic);
    }
    this.#offLoop.start();
    this.#unlisten = this.#ctx.bus.onTopic((topic, type) => this.#outbound.offer(topic, type));
    const { topic: velocityTopic } = this.#ctx.config.motion.velocity;
    if (this.#published(velocityTopic))
      this.#outbound.haltTarget(
        velocityTopic,
        this.#ctx.bus.topicType(velocityTopic) === TWIST_STAMPED ? TWIST_STAMPED : TWIST,
      );
    this.#link.start();
    this.#bulkLink?.start();
    this.#receiveLink?.start();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#outbound.seal();
    this.#offLoop.close();
    this.#reconciling.close();
    this.#unlisten?.();
    const closing = [
      ...this.#inbound.topics.values(),
      ...this.#clients.values(),
      ...this.#servers,
      ...this.#servedActions,
    ];
    await Promise.all([
      ...closing.map((c) => c.close()),
      ...this.#outbound.close(),
      this.#queries?.close(),
      this.#stopQuery?.close(),
      this.#actions?.close(),
      ...this.#handles.map((h) => h.close()),
    ]);
    await Promise.all([this.#link.close(), this.#bulkLink?.close(), this.#receiveLink?.close()]);
    this.#discovery.clear();
  }

  metrics(): MetricFamily[] {
    const families = zenohMetrics({
      link: this.#link,
      bulkLink: this.#bulkInUse(),
      receiveLink: this.#receiveLink,
      inbound: this.#inbound.topics,
      outbound: this.#outbound.topics,
      graphEndpoints: this.#ctx.graph.endpoints({ source: this.#source }).length,
      cap: this.#cap,
    });
    const relays = relayMetrics(this.#relays, this.#outbound.topics, this.#relayCounters);
    // The second link's families beside the first's, told apart by a label.
    return [...(this.name === 'zenoh' ? families : withLabel(families, { zenoh_link: this.name })), ...relays];
  }

  health(): ComponentHealth {
    const link = this.#link;
    const details = {
      mapping: this.#mapping.name,
      link: link.details(),
      ...(this.#bulkInUse() ? { bulk_link: this.#bulkInUse()!.details() } : {}),
      ...(this.#receiveLink ? { receive_link: this.#receiveLink.details() } : {}),
      inbound: Object.fromEntries(
        [...this.#inbound.topics].map(([name, t]) => [
          name,
          {
            type: t.rosType,
            ...t.counters,
            ...(t.historyQueries ? { history_queries: t.historyQueries } : {}),
            ...(t.lastError ? { last_error: t.lastError } : {}),
          },
        ]),
      ),
      outbound: Object.fromEntries(
        [...this.#outbound.topics].map(([name, t]) => [
          name,
          { type: t.rosType, key: t.key, ...t.counters, ...t.queue },
        ]),
      ),
      refused: Object.fromEntries(this.#refused),
      bridged_topics: this.#cap.details(this.#inbound.topics.size),
      queries: this.#queries?.counters,
      services: {
        ...this.#serviceCounters,
        calling: [...this.#clients.keys()],
        serving: this.#servedServices().map((s) => s.service),
      },
      tokens_ignored: this.#discovery.ignored,
      actions: { ...this.#actions?.details(), serving: this.#servedActions.map((a) => a.name) },
      relays: relayDetails(this.#relays, this.#outbound.topics, this.#relayCounters),
    };
    return { ...linkHealth(this.#link, { bulk: this.#bulkInUse(), receiving: this.#receiveLink }), details };
  }

  /** The bulk session, unless it is a lane whose thread no frame topic has started yet (it has no session). */
  #bulkInUse(): ZenohLink | BulkLane | undefined {
    return this.#bulkLink instanceof BulkLane && !this.#bulkLink.inUse ? undefined : this.#bulkLink;
  }

  #linkOptions(settings: ZenohSettings, ctx: ComponentContext) {
    return {
      endpoint: settings.endpoint,
      openTimeoutMs: settings.open_timeout_ms,
      responseTimeoutMs: settings.response_timeout_ms,
      keepaliveMs: settings.keepalive_ms,
      reconnectMinMs: settings.reconnect_min_ms,
      reconnectMaxMs: settings.reconnect_max_ms,
      log: ctx.log,
    };
  }

  #servedServices() {
    return [...this.#settings.services.serve, ...this.#relays.servicesServe];
  }

  #queryServer(keys: readonly string[], passes?: (name: string) => boolean): QueryServer {
    return new QueryServer({
      link: this.#link,
      bus: this.#ctx.bus,
      keys,
      timeoutMs: this.#settings.query_timeout_ms,
      maxReplyBytes: this.#settings.max_sample_bytes,
      log: this.#ctx.log,
      ...(passes ? { passes } : {}),
    });
  }

  /** agent/stop served here, on the main loop, or left to the stop listener's thread (OffLoopStop). */
  #serveHaltHere(here: boolean): void {
    const doors = new Set(this.#offLoop.doors?.services.map((d) => d.key));
    for (const server of this.#servers) if (doors.has(server.key)) server.serveHere(here);
    // A stop served on this session must not wait behind a frame of the bridge's held for an ACK (read-acks.ts).
    this.#link.ackEveryRead = here && (doors.size > 0 || this.#offLoop.doors?.query === true);
    if (!this.#settings.queries.includes(HALT_QUERY)) return;
    if (here) this.#stopQuery ??= this.#queryServer([HALT_QUERY]);
    else {
      void this.#stopQuery?.close();
      this.#stopQuery = undefined;
    }
  }

  #node(): LocalNode {
    return {
      zid: this.#link.zid || '0',
      nodeId: this.#nodeId,
      namespace: this.#settings.mapping === 'rmw_zenoh' ? this.#settings.namespace : '/',
      name: this.#settings.node_name,
    };
  }

  #isLocal(entity: AnnouncedEntity): boolean {
    if (entity.zid !== this.#link.zid) return false;
    // rmw_zenoh ids are <zid>/<node id>[/<entity id>]: other zenoh-ts clients of the same bridge share its zid.
    return (
      this.#mapping.name === 'ros2dds' ||
      entity.id === `${entity.zid}/${this.#nodeId}` ||
      entity.id.startsWith(`${entity.zid}/${this.#nodeId}/`)
    );
  }

  #serviceContext(): ServiceContext {
    return {
      link: this.#link,
      bus: this.#ctx.bus,
      codec: this.#codec,
      mapping: this.#mapping,
      node: () => this.#node(),
      entityId: () => this.#nextEntityId++,
      typeHash: (t) => this.#typeHashes.of(t),
      timeoutMs: this.#settings.services.timeout_ms,
      maxReplyBytes: this.#settings.max_sample_bytes,
      log: this.#ctx.log,
    };
  }

  #actionContext(): ActionContext {
    return {
      ...this.#serviceContext(),
      resultTimeoutMs: this.#settings.actions.result_timeout_ms,
      source: this.#source,
      goalRules: {
        track: this.#ctx.actionGoals,
        // Every goal to a Zenoh server is held to the rules of the daemon's own (as ros.actions.serve holds a ROS
        // client's): one from a client of zenoh.actions.serve or a relay reaches the server through this door alone.
        refusal: (goal, type) => this.#guard().goalRefusal(type, goal)?.reason,
      },
    };
  }

  /**
   * Bridges the graph's topics and services as their publishers and servers come, and drops them as they go:
   * reads only the topics whose publishers changed, declares at most `budget` new ones a run and never more
   * than zenoh.max_bridged_topics. True when some were left for a later run.
   */
  #reconcile(budget: number): boolean {
    if (this.#closed) return false;
    const more = this.#inbound.reconcile(budget);
    // Reading the graph's servers costs a pass over every token: only when some service may be called.
    if (!this.#callsServices && this.#actions === undefined) return more;
    const servers = this.#discovery.servers();
    this.#actions?.reconcile(servers);
    for (const [name, client] of this.#clients) {
      if (servers.has(name)) continue;
      this.#clients.delete(name);
      void client.close();
    }
    for (const [name, server] of servers) {
      if (this.#clients.has(name) || !this.#callable(name)) continue;
      try {
        this.#clients.set(
          name,
          new ServiceClient(this.#serviceContext(), name, server.rosType, server.typeHash, this.#serviceCounters),
        );
      } catch (error) {
        this.#refused.set(name, errorText(error));
      }
    }
    return more;
  }
}
