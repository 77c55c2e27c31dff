import type { Logger } from 'pino';
import type { Bus, MessageCodec, Publisher, QueryPayload } from '../bus/index.ts';
import {
  actionEndpoints,
  CANCEL_CODE,
  FEEDBACK_QOS,
  GOAL_STATUS,
  isTerminal,
  STATUS_QOS,
  type GoalState,
} from './action-names.ts';
import { goalIdHex, uuidMessage, ZERO_GOAL_ID } from './goal-id.ts';
import { checkedMessage, jsonObject, jsonPayload, timeMessage } from './json-payload.ts';
import { errorText, unlessAborted } from '../util/index.ts';

/** How an accepted goal ended, as the server's handler says. */
export interface GoalOutcome {
  state: 'succeeded' | 'aborted' | 'canceled';
  result: Record<string, unknown>;
}

export interface GoalContext {
  goalId: string;
  /** Publishes one feedback (the fields of `<type>_Feedback`). */
  feedback(feedback: Record<string, unknown>): void;
  /** Aborted when a client cancels the goal, or the server closes. */
  signal: AbortSignal;
}

export interface ActionHandler {
  /**
   * Accepts a goal, or says why not (the client sees accepted: false; the reason is logged). May answer later: a
   * bridge asks the robot's own server first.
   */
  accept?(goal: Record<string, unknown>, goalId: string): true | string | Promise<true | string>;
  /** Runs an accepted goal. A throw aborts it, with the message logged. */
  execute(goal: Record<string, unknown>, context: GoalContext): Promise<GoalOutcome>;
}

export interface ActionServerOptions {
  bus: Bus;
  codec: MessageCodec;
  /** The action's name, e.g. `/navigate_to_pose`. */
  name: string;
  /** The action's type, e.g. `nav2_msgs/action/NavigateToPose`. */
  type: string;
  handler: ActionHandler;
  log: Logger;
  /** Who publishes its feedback and status topics on the bus. */
  source?: string;
  /** How long a finished goal's result can still be asked for, in s (rcl_action's default is 15 min). */
  resultTimeoutS?: number;
  /** The most finished goals kept for get_result. */
  maxFinished?: number;
}

interface Goal {
  id: string;
  acceptedMs: number;
  /** Its action_msgs/GoalInfo, made once: every status publish carries every goal the server keeps. */
  info: { goal_id: { uuid: Uint8Array }; stamp: ReturnType<typeof timeMessage> };
  state: GoalState;
  result: Record<string, unknown>;
  finishedMs: number;
  controller: AbortController;
  waiters: (() => void)[];
}

/**
 * An action server on the bus, made as rcl_action makes one: the send_goal, cancel_goal and get_result services
 * (bus queries, JSON, as the bridges carry services) and the feedback and status topics (CDR). A goal is accepted or
 * rejected at once, executed by the handler, cancelled through its signal, and its result kept for `resultTimeoutS`.
 * Every state change publishes the status array, so a client sees a goal end even before it asks for the result.
 */
export class BusActionServer {
  readonly name: string;
  readonly type: string;
  #codec: MessageCodec;
  #handler: ActionHandler;
  #log: Logger;
  #ends: ReturnType<typeof actionEndpoints>;
  #resultTimeoutMs: number;
  #maxFinished: number;
  #goals = new Map<string, Goal>();
  /** Goal ids whose acceptance is being decided. */
  #deciding = new Set<string>();
  #feedback: Publisher;
  #status: Publisher;
  #unserve: (() => void)[];
  #closed = false;

  constructor(options: ActionServerOptions) {
    const {
      bus,
      codec,
      name,
      type,
      handler,
      log,
      source = 'actions',
      resultTimeoutS = 900,
      maxFinished = 256,
    } = options;
    this.name = name;
    this.type = type;
    this.#codec = codec;
    this.#handler = handler;
    this.#log = log;
    this.#resultTimeoutMs = resultTimeoutS * 1000;
    this.#maxFinished = maxFinished;
    const ends = (this.#ends = actionEndpoints(name, type));
    // Fails here, not at the first goal, when the action's type is unknown to the definitions.
    for (const t of [ends.types.goal, ends.types.result, ends.types.feedbackMessage]) codec.validator(t);
    this.#feedback = bus.advertise(ends.feedback, ends.types.feedbackMessage, { source, qos: FEEDBACK_QOS });
    this.#status = bus.advertise(ends.status, ends.types.status, { source, qos: STATUS_QOS });
    this.#unserve = [
      bus.serve(ends.sendGoal, async (request) => this.#sendGoal(request)),
      bus.serve(ends.cancelGoal, async (request) => this.#cancelGoal(request)),
      bus.serve(ends.getResult, (request, signal) => this.#getResult(request, signal)),
    ];
    this.#publishStatus();
  }

  /** The goals not yet finished. */
  active(): string[] {
    return [...this.#goals.values()].filter((g) => !isTerminal(g.state)).map((g) => g.id);
  }

  /** Stops serving; running goals are aborted (their handlers see the signal). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const u of this.#unserve) u();
    for (const goal of this.#goals.values()) {
      if (!isTerminal(goal.state)) this.#finish(goal, 'aborted', {}, 'the action server closed');
    }
    this.#feedback.close();
    this.#status.close();
  }

  async #sendGoal(request: QueryPayload): Promise<QueryPayload> {
    const body = jsonObject(`${this.#ends.sendGoal} request`, request);
    const id = goalIdHex(body.goal_id);
    if (id === undefined) throw new Error(`${this.#ends.sendGoal}: goal_id must be {uuid: [16 bytes]}`);
    const stamp = timeMessage(Date.now());
    // The goal's fields are checked against its type: a wrong field is named to the caller.
    const goal = checkedMessage(this.#codec, this.#ends.types.goal, body.goal ?? {}, `${this.#ends.sendGoal} goal`);
    if (this.#goals.has(id) || this.#deciding.has(id)) {
      this.#log.warn({ action: this.name, goal: id }, 'action: a goal id sent twice was rejected');
      return jsonPayload({ accepted: false, stamp });
    }
    let verdict: true | string;
    this.#deciding.add(id);
    try {
      verdict = this.#closed ? 'the action server is closed' : await (this.#handler.accept?.(goal, id) ?? true);
    } catch (error) {
      verdict = errorText(error);
    } finally {
      this.#deciding.delete(id);
    }
    if (verdict === true && this.#closed) verdict = 'the action server is closed';
    if (verdict !== true) {
      this.#log.info({ action: this.name, goal: id, reason: verdict }, 'action: goal rejected');
      return jsonPayload({ accepted: false, stamp });
    }
    const acceptedMs = Date.now();
    const entry: Goal = {
      id,
      acceptedMs,
      info: { goal_id: { uuid: Buffer.from(id, 'hex') }, stamp: timeMessage(acceptedMs) },
      state: 'accepted',
      result: {},
      finishedMs: 0,
      controller: new AbortController(),
      waiters: [],
    };
    this.#goals.set(id, entry);
    this.#publishStatus();
    // Executed after the reply is sent: a client must know the goal was accepted before its feedback comes.
    setImmediate(() => this.#execute(entry, goal));
    return jsonPayload({ accepted: true, stamp });
  }

  #execute(goal: Goal, message: Record<string, unknown>): void {
    if (isTerminal(goal.state)) return;
    // A goal cancelled between its acceptance and now still goes to its handler, with its signal aborted: a bridge's
    // handler passes the cancel on to the server that has the goal.
    if (goal.state === 'accepted') goal.state = 'executing';
    this.#publishStatus();
    const context: GoalContext = {
      goalId: goal.id,
      signal: goal.controller.signal,
      feedback: (feedback) => this.#publishFeedback(goal, feedback),
    };
    this.#handler.execute(message, context).then(
      ({ state, result }) => {
        // A goal cancelled while it ran ends canceled unless its handler says it finished anyway.
        const ended = goal.state === 'canceling' && state !== 'succeeded' ? 'canceled' : state;
        this.#finish(goal, ended, result);
      },
      (error: unknown) => this.#finish(goal, 'aborted', {}, errorText(error)),
    );
  }

  #publishFeedback(goal: Goal, feedback: Record<string, unknown>): void {
    if (isTerminal(goal.state) || this.#closed) return;
    try {
      const data = this.#codec.encode(this.#ends.types.feedbackMessage, { goal_id: uuidMessage(goal.id), feedback });
      this.#feedback.publish(data);
    } catch (error) {
      this.#log.warn({ action: this.name, err: errorText(error) }, 'action: feedback not published');
    }
  }

  #finish(
    goal: Goal,
    state: 'succeeded' | 'aborted' | 'canceled',
    result: Record<string, unknown>,
    why?: string,
  ): void {
    if (isTerminal(goal.state)) return;
    goal.state = state;
    goal.result = result;
    goal.finishedMs = Date.now();
    goal.controller.abort();
    if (why !== undefined) this.#log.warn({ action: this.name, goal: goal.id, state, why }, `action: goal ${state}`);
    for (const wake of goal.waiters.splice(0)) wake();
    this.#prune();
    this.#publishStatus();
  }

  async #cancelGoal(request: QueryPayload): Promise<QueryPayload> {
    const body = jsonObject(`${this.#ends.cancelGoal} request`, request);
    const info = (body.goal_info ?? {}) as { goal_id?: unknown; stamp?: { sec?: number; nanosec?: number } };
    const id = info.goal_id === undefined ? ZERO_GOAL_ID : goalIdHex(info.goal_id);
    if (id === undefined) throw new Error(`${this.#ends.cancelGoal}: goal_info.goal_id must be {uuid: [16 bytes]}`);
    const beforeMs = (info.stamp?.sec ?? 0) * 1000 + (info.stamp?.nanosec ?? 0) / 1e6;
    // As rcl_action: a zero id and a zero stamp cancel every goal; a stamp also cancels every goal accepted at
    // or before it; an id cancels that goal.
    const chosen = [...this.#goals.values()].filter(
      (g) => (id === ZERO_GOAL_ID && beforeMs === 0) || g.id === id || (beforeMs > 0 && g.acceptedMs <= beforeMs),
    );
    const canceling = chosen.filter((g) => !isTerminal(g.state));
    for (const goal of canceling) {
      goal.state = 'canceling';
      goal.controller.abort();
    }
    if (canceling.length > 0) this.#publishStatus();
    const code =
      canceling.length > 0 || id === ZERO_GOAL_ID
        ? CANCEL_CODE.none
        : chosen.length > 0
          ? CANCEL_CODE.goalTerminated
          : CANCEL_CODE.unknownGoalId;
    return jsonPayload({
      return_code: code,
      goals_canceling: canceling.map((g) => ({ goal_id: uuidMessage(g.id), stamp: timeMessage(g.acceptedMs) })),
    });
  }

  async #getResult(request: QueryPayload, signal: AbortSignal): Promise<QueryPayload> {
    const body = jsonObject(`${this.#ends.getResult} request`, request);
    const id = goalIdHex(body.goal_id);
    if (id === undefined) throw new Error(`${this.#ends.getResult}: goal_id must be {uuid: [16 bytes]}`);
    const goal = this.#goals.get(id);
    if (goal === undefined) return jsonPayload({ status: GOAL_STATUS.unknown, result: {} });
    if (!isTerminal(goal.state)) {
      const ended = new Promise<void>((resolve) => goal.waiters.push(resolve));
      // An abort (the asker gone) is no failure: the answer is the goal's state as it stands.
      await unlessAborted(ended, signal).catch(() => undefined);
    }
    return jsonPayload({ status: GOAL_STATUS[goal.state], result: goal.result });
  }

  #prune(): void {
    const now = Date.now();
    const finished = [...this.#goals.values()].filter((g) => isTerminal(g.state));
    const excess = finished.length - this.#maxFinished;
    finished.forEach((g, i) => {
      if (i < excess || now - g.finishedMs > this.#resultTimeoutMs) this.#goals.delete(g.id);
    });
  }

  #publishStatus(): void {
    const status_list = [...this.#goals.values()].map((g) => ({
      goal_info: g.info,
      status: GOAL_STATUS[g.state],
    }));
    try {
      this.#status.publish(this.#codec.encode(this.#ends.types.status, { status_list }));
    } catch (error) {
      // The bus refuses a closed publisher: the last status went out before close.
      this.#log.debug({ action: this.name, err: errorText(error) }, 'action: status not published');
    }
  }
}
