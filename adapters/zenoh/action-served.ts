import { actionEndpoints, goalIdHex } from '../../daemon/actions/index.ts';
import type { ActionContext } from './action-proxy.ts';
import { ServiceServer, type ServedEntry, type serviceCounters } from './service-bridge.ts';
import type { Handle } from './zenoh-link.ts';

/**
 * A bus action (the sim's navigate_to_pose, a policy) served to Zenoh's action clients as rcl_action makes one: its
 * send_goal, cancel_goal and get_result bus queries served as the services of the same names (CDR in, JSON on the
 * bus, CDR out; get_result may wait for the goal's end, up to zenoh.actions.result_timeout_ms), and its feedback
 * and status topics published as the daemon's own (`publishedTopics`, which the component publishes as it does
 * zenoh.publish's topics: rmw_zenoh's tokens, attachments, status kept for late clients as transient_local).
 */
export class ZenohServedAction {
  readonly name: string;
  /** The bus topics of the action that go to Zenoh. */
  readonly publishedTopics: readonly string[];
  #servers: ServiceServer[];
  #ctx: ActionContext;
  #type: string;
  #token: Handle | undefined;

  constructor(options: {
    ctx: ActionContext;
    entry: { action: string; type: string };
    counters: ReturnType<typeof serviceCounters>;
  }) {
    const { ctx, entry, counters } = options;
    const ends = actionEndpoints(entry.action, entry.type);
    this.name = entry.action;
    this.#ctx = ctx;
    this.#type = entry.type;
    this.publishedTopics = [ends.feedback, ends.status];
    const serve = (service: string, type: string, timeoutMs = ctx.timeoutMs, answerHere?: ServedEntry['answerHere']) =>
      new ServiceServer({ ...ctx, timeoutMs }, { service, type, query: service, answerHere }, counters);
    this.#servers = [
      serve(ends.sendGoal, ends.types.sendGoal, ctx.timeoutMs, (request) => this.#refused(request)),
      serve(ends.cancelGoal, ends.types.cancelGoal),
      serve(ends.getResult, ends.types.getResult, ctx.resultTimeoutMs),
    ];
    // Under zenoh-bridge-ros2dds, one AS token for the whole action, declared once it serves: a bridge routes the
    // action to its DDS clients only for that (the hidden services and topics then announce nothing of their own).
    const { link, mapping, node } = ctx;
    if (mapping.actionToken(node(), 'service', entry.action, entry.type) !== undefined)
      this.#token = link.declareToken(() => mapping.actionToken(node(), 'service', entry.action, entry.type)!);
  }

  /**
   * A Zenoh client's goal refused before it reaches the bus action (`accepted: false`, as rcl_action rejects one),
   * the reason logged: the rules of the daemon's own goals (the stop latched, a pose outside the geofence), as
   * ros.actions.serve holds a ROS client's. The bus action may be the daemon's own (the sim's navigate_to_pose).
   */
  #refused(request: Record<string, unknown>): Record<string, unknown> | undefined {
    const goal = (request.goal ?? {}) as Record<string, unknown>;
    const reason = this.#ctx.goalRules?.refusal(goal, this.#type);
    if (reason === undefined) return undefined;
    // Logged as the bus action server logs a goal it rejects: one line whichever door refused it.
    this.#ctx.log.info({ action: this.name, goal: goalIdHex(request.goal_id), reason }, 'action: goal rejected');
    return { accepted: false };
  }

  async close(): Promise<void> {
    await Promise.all([...this.#servers.map((s) => s.close()), this.#token?.close()]);
  }
}
