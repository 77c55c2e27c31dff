import type { Logger } from 'pino';
import {
  actionOfService,
  actionTypeOfSendGoal,
  BusActionClient,
  type ActionGoals,
  BusActionServer,
  uuidMessage,
  type GoalContext,
  type GoalOutcome,
} from '../../daemon/actions/index.ts';
import type { Bus, MessageCodec } from '../../daemon/bus/index.ts';
import { entityErrorText, type BridgeReport } from './bridge-report.ts';
import { errorText, withTimeout, within } from '../../daemon/util/index.ts';
import {
  plainMessage,
  typeClass,
  type Rclnodejs,
  type RosActionClient,
  type RosActionServer,
  type RosClientGoalHandle,
  type RosNode,
  type RosServerGoalHandle,
} from './rcl-api.ts';
import type { RosGraphSnapshot } from './ros-graph.ts';

/** rclnodejs's GoalResponse and CancelResponse (lib/action/response.js). */
const ACCEPT = 2;
const REJECT = 1;
/** How long a goal or a cancel waits for the ROS server's answer: one to a server that left is lost, as in DDS. */
const ANSWER_TIMEOUT_MS = 10_000;

export interface ActionBridgeOptions {
  rcl: Rclnodejs;
  node: RosNode;
  bus: Bus;
  codec: MessageCodec;
  /**
   * ROS action servers the bus may use (ros.actions.call, and relays into `ros`). Every goal to one, whoever sent it on
   * the bus (the daemon's own clients, a Zenoh client, another graph's through a relay), is held to `refusal` before
   * it reaches the ROS server, and is one of `track`'s, which the operator's stop cancels.
   */
  callable: (action: string) => boolean;
  /** Bus actions served to ROS (ros.actions.serve). */
  serve: readonly { action: string; type: string }[];
  /**
   * Why a goal of the action type `type` must not go on (the operator's stop latched, a pose outside the geofence),
   * or undefined: the same rules as the daemon's own goals, for a ROS client's goal to a served action and any goal
   * to a ROS server.
   */
  refusal: (goal: Record<string, unknown>, type: string) => string | undefined;
  /** The daemon's goals in flight, which the operator's stop cancels: ROS clients' and relayed goals join them. */
  track: ActionGoals;
  self: string;
  report: BridgeReport;
  log: Logger;
}

interface Proxy {
  action: string;
  type: string;
  client: RosActionClient;
  server: BusActionServer;
  handles: Map<string, RosClientGoalHandle>;
  feedback: Map<string, (feedback: Record<string, unknown>) => void>;
  /** Feedback the ROS server sent before the bus side of its goal was running. */
  early: Map<string, Record<string, unknown>[]>;
}

/**
 * Actions both ways, with rclnodejs's ActionClient and ActionServer (typed: rclnodejs has no raw actions, so goals,
 * feedback and results are the objects rclnodejs builds). In: a ROS action server of the graph selected by
 * ros.actions.call is served on the bus as the same action (a BusActionServer whose goals go to the ROS server under
 * the same goal id), while a node other than the daemon serves it. Out: a bus action named in ros.actions.serve is
 * served to ROS (an ActionServer whose goals go to the bus action). Cancels and results follow both ways.
 */
export class RosActionBridge {
  #rcl: Rclnodejs;
  #node: RosNode;
  #bus: Bus;
  #codec: MessageCodec;
  #callable: (action: string) => boolean;
  #serve: ActionBridgeOptions['serve'];
  #refusal: ActionBridgeOptions['refusal'];
  #track: ActionBridgeOptions['track'];
  #self: string;
  #report: BridgeReport;
  #log: Logger;
  #proxies = new Map<string, Proxy>();
  #served = new Map<string, { server: RosActionServer; goals: Map<RosServerGoalHandle, () => void> }>();

  constructor(options: ActionBridgeOptions) {
    const { rcl, node, bus, codec, callable, serve, refusal, track, self, report, log } = options;
    this.#rcl = rcl;
    this.#node = node;
    this.#bus = bus;
    this.#codec = codec;
    this.#callable = callable;
    this.#serve = serve;
    this.#refusal = refusal;
    this.#track = track;
    this.#self = self;
    this.#report = report;
    this.#log = log;
  }

  get called(): string[] {
    return [...this.#proxies.keys()].sort();
  }

  get served(): string[] {
    return [...this.#served.keys()].sort();
  }

  start(): void {
    for (const { action, type } of this.#serve) this.#openServed(action, type);
  }

  /** Opens and closes the bus side of the graph's action servers. */
  reconcile(snapshot: RosGraphSnapshot): void {
    const live = new Map<string, string>();
    for (const [service, { type, servers }] of snapshot.services) {
      const action = actionOfService(service);
      const actionType = actionTypeOfSendGoal(type);
      if (action === undefined || actionType === undefined) continue;
      if (!servers.some((node) => node !== this.#self) || !this.#callable(action)) continue;
      live.set(action, actionType);
    }
    for (const [action, type] of live) if (!this.#proxies.has(action)) this.#openProxy(action, type);
    for (const action of [...this.#proxies.keys()]) if (!live.has(action)) this.#closeProxy(action, 'its server left');
  }

  close(): void {
    for (const action of [...this.#proxies.keys()]) this.#closeProxy(action, 'the bridge stopped');
    for (const [action, { server }] of this.#served) this.#destroy(`action server ${action}`, () => server.destroy());
    this.#served.clear();
  }

  #openProxy(action: string, type: string): void {
    let client: RosActionClient;
    try {
      client = new this.#rcl.ActionClient(this.#node, typeClass(type), action);
    } catch (error) {
      this.#report.count('auraison_ros_errors_total', { kind: 'action', topic: action });
      this.#report.problem(
        `action ${action}`,
        `cannot use ROS action ${action} (${type}): ${entityErrorText(error, type)}`,
      );
      return;
    }
    const proxy: Proxy = {
      action,
      type,
      client,
      handles: new Map(),
      feedback: new Map(),
      early: new Map(),
      server: undefined as never,
    };
    try {
      proxy.server = new BusActionServer({
        bus: this.#bus,
        codec: this.#codec,
        log: this.#log,
        name: action,
        type,
        source: 'ros',
        handler: {
          // Not only the daemon's own clients send goals here (they check before sending): a Zenoh client's goal to
          // a served action, or another graph's through a relay, reaches the robot's server through this door alone.
          accept: (goal, goalId) => this.#refusal(goal, type) ?? this.#forward(proxy, goal, goalId),
          execute: (goal, context) => this.#follow(proxy, goal, context),
        },
      });
    } catch (error) {
      this.#destroy(`action client ${action}`, () => client.destroy());
      this.#report.problem(`action ${action}`, `ROS action ${action} not bridged: ${errorText(error)}`);
      return;
    }
    this.#proxies.set(action, proxy);
    this.#report.resolved(`action ${action}`);
    this.#log.info({ action, type }, 'ros: serving a ROS action on the bus');
  }

  /** Sends a bus goal to the ROS server under the same id, and answers as the ROS server did. */
  async #forward(proxy: Proxy, goal: Record<string, unknown>, goalId: string): Promise<true | string> {
    if (!proxy.client.isActionServerAvailable()) return 'the ROS action server is not available';
    const sent = proxy.client.sendGoal(
      goal,
      (feedback) => {
        const sink = proxy.feedback.get(goalId);
        if (sink) return sink(feedback as Record<string, unknown>);
        const early = proxy.early.get(goalId) ?? [];
        proxy.early.set(goalId, [...early, feedback as Record<string, unknown>]);
      },
      uuidMessage(goalId),
    );
    const handle = await within(sent, ANSWER_TIMEOUT_MS);
    if (handle === undefined) return `the ROS action server did not answer within ${ANSWER_TIMEOUT_MS} ms`;
    if (!handle.accepted) return 'the ROS action server rejected the goal';
    proxy.handles.set(goalId, handle);
    return true;
  }

  /** Follows an accepted goal on the ROS side: its feedback, a cancel from the bus, its result. */
  async #follow(
    proxy: Proxy,
    goal: Record<string, unknown>,
    { goalId, feedback, signal }: GoalContext,
  ): Promise<GoalOutcome> {
    const handle = proxy.handles.get(goalId);
    if (handle === undefined) return { state: 'aborted', result: {} };
    proxy.feedback.set(goalId, feedback);
    for (const early of proxy.early.get(goalId) ?? []) feedback(early);
    proxy.early.delete(goalId);
    const onCancel = () => {
      handle.cancelGoal().catch((error: unknown) => {
        this.#log.warn({ goal: goalId, err: errorText(error) }, 'ros: cancelling a ROS goal failed');
      });
    };
    if (signal.aborted) onCancel();
    else signal.addEventListener('abort', onCancel, { once: true });
    // The daemon's own client tracks its goal too, under the same id: the stop cancels it once.
    const tracked = { action: proxy.action, goalId, cancel: () => this.#cancelForHalt(handle) };
    this.#track.started(tracked);
    // A stop that came while the ROS server was accepting it found no goal to cancel: it is cancelled now.
    if (!signal.aborted && this.#refusal(goal, proxy.type) !== undefined) onCancel();
    try {
      const result = (await handle.getResult()) as Record<string, unknown>;
      const state = handle.isSucceeded() ? 'succeeded' : handle.isCanceled() ? 'canceled' : 'aborted';
      return { state, result: result ?? {} };
    } finally {
      this.#track.ended(tracked);
      signal.removeEventListener('abort', onCancel);
      proxy.handles.delete(goalId);
      proxy.feedback.delete(goalId);
      proxy.early.delete(goalId);
    }
  }

  /**
   * The operator's stop cancelling a goal at its ROS server: the server's return code (the stop's report), or
   * an error when the server does not answer (a cancel to a server that left is lost, as a goal is).
   */
  async #cancelForHalt(handle: RosClientGoalHandle): Promise<{ returnCode: number }> {
    const answer = await withTimeout(
      handle.cancelGoal(),
      ANSWER_TIMEOUT_MS,
      `the ROS action server did not answer the cancel within ${ANSWER_TIMEOUT_MS} ms`,
    );
    return { returnCode: Number((answer as { return_code?: unknown } | undefined)?.return_code) };
  }

  #closeProxy(action: string, why: string): void {
    const proxy = this.#proxies.get(action);
    if (proxy === undefined) return;
    this.#proxies.delete(action);
    proxy.server.close();
    this.#destroy(`action client ${action}`, () => proxy.client.destroy());
    this.#report.resolved(`action ${action}`);
    this.#log.info({ action }, `ros: action dropped from the bus: ${why}`);
  }

  #openServed(action: string, type: string): void {
    const goals = new Map<RosServerGoalHandle, () => void>();
    const client = new BusActionClient({ bus: this.#bus, codec: this.#codec, name: action, type, track: this.#track });
    try {
      const server = new this.#rcl.ActionServer(
        this.#node,
        typeClass(type),
        action,
        (handle) => this.#execute(client, handle, goals),
        // rclnodejs asks for the answer at once: a goal is taken while the bus action is served, and the bus
        // server's own answer comes in execute (a goal it rejects ends aborted).
        (goal) => this.#admit(client, plainMessage(goal)),
        undefined,
        (handle) => {
          if (handle !== undefined) goals.get(handle)?.();
          return ACCEPT;
        },
      );
      this.#served.set(action, { server, goals });
      this.#report.resolved(`serve action ${action}`);
      this.#log.info({ action, type }, 'ros: serving a bus action to ROS');
    } catch (error) {
      this.#report.count('auraison_ros_errors_total', { kind: 'action', topic: action });
      this.#report.problem(
        `serve action ${action}`,
        `cannot serve ${action} as a ROS action (${type}): ${entityErrorText(error, type)}`,
      );
    }
  }

  /** A ROS goal has no rejection reason on the wire: the log and the status say why one was rejected. */
  #admit(client: BusActionClient, goal: Record<string, unknown>): number {
    const why = client.available() ? this.#refusal(goal, client.type) : `no server of ${client.name} is on the bus`;
    if (why === undefined) return ACCEPT;
    this.#report.count('auraison_ros_goals_rejected_total', { action: client.name });
    this.#log.warn({ action: client.name, reason: why }, 'ros: rejected a ROS goal');
    return REJECT;
  }

  async #execute(
    client: BusActionClient,
    handle: RosServerGoalHandle,
    goals: Map<RosServerGoalHandle, () => void>,
  ): Promise<Record<string, unknown>> {
    const sent = await client
      .sendGoal(plainMessage(handle.request), {
        onFeedback: (feedback) => handle.publishFeedback(feedback as never),
      })
      .catch((error: unknown) => {
        this.#log.warn({ action: client.name, err: errorText(error) }, 'ros: a ROS goal could not reach the bus');
        return undefined;
      });
    if (sent === undefined) {
      handle.abort();
      return {};
    }
    const cancelled = new AbortController();
    goals.set(handle, () => cancelled.abort(new Error('cancelled by its ROS client')));
    // A cancel that came while the goal was on its way to the bus found nothing to abort yet.
    if (handle.isCancelRequested) cancelled.abort(new Error('cancelled by its ROS client'));
    try {
      const outcome = await sent.result({ signal: cancelled.signal });
      if (outcome.state === 'succeeded') handle.succeed();
      // rcl_action ends a goal canceled only after its client asked: one the daemon cancelled (the operator's stop)
      // ends aborted for its ROS client.
      else if (outcome.state === 'canceled' && handle.isCancelRequested) handle.canceled();
      else handle.abort();
      const { goalId, state, reason } = outcome;
      this.#log.info({ action: client.name, goal: goalId, state, reason }, "ros: a ROS client's goal ended");
      return outcome.result;
    } finally {
      goals.delete(handle);
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
