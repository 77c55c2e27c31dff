import type { Sample } from '@eclipse-zenoh/zenoh-ts';
import {
  actionEndpoints,
  type ActionGoals,
  BusActionServer,
  goalIdHex,
  goalState,
  isTerminal,
  uuidMessage,
  type GoalContext,
  type GoalOutcome,
  type GoalState,
} from '../../daemon/actions/index.ts';
import { ClientAttachments } from './current-gid.ts';
import type { LocalEntity } from './mapping.ts';
import type { ServiceContext } from './service-bridge.ts';
import type { Handle } from './zenoh-link.ts';
import { errorText, unlessAborted } from '../../daemon/util/index.ts';

export interface ActionContext extends ServiceContext {
  /** How long a get_result may wait for the goal's end (the remote server answers it then). */
  resultTimeoutMs: number;
  /** The bus source of what the action's server sends (feedback, status): its link's. */
  source: string;
  /**
   * The rules of every goal to a Zenoh server, whoever sent it on the bus (the daemon's own clients, a client of a
   * served action, another graph's through a relay): each is one the operator's stop cancels (`track`), and none is
   * sent while `refusal` says why not (the stop latched, a pose outside the geofence) for a goal of action type `type`.
   */
  goalRules?: {
    track: ActionGoals;
    refusal: (goal: Record<string, unknown>, type: string) => string | undefined;
  };
}

export const actionCounters = () => ({
  goals: 0,
  rejected: 0,
  feedback: 0,
  malformedFeedback: 0,
  malformedStatus: 0,
  cancels: 0,
  resultsAskedAgain: 0,
});

const SERVICE_QOS = { reliability: 'reliable', durability: 'volatile', depth: 10 } as const;
const STATUS_QOS = { reliability: 'reliable', durability: 'transient_local', depth: 1 } as const;

type Fields = Record<string, unknown>;

/** An action client's service clients, in the order of its entities below. */
const HIDDEN_SERVICES = ['sendGoal', 'cancelGoal', 'getResult'] as const;
type HiddenService = (typeof HIDDEN_SERVICES)[number];

/** Feedback of a goal: its sink once the bus side runs it, and what came before; its state as the server says. */
interface Follower {
  sink?: (feedback: Fields) => void;
  early: Fields[];
  /** The goal's state on the server's status topic. */
  state?: GoalState;
  /** Called when `state` changes. */
  wake?: () => void;
}

/**
 * An action server of the Zenoh graph served on the bus as the same action: a BusActionServer whose goals go to
 * the remote server under the same goal ids, through the action's hidden services (`<action>/_action/send_goal`,
 * `cancel_goal`, `get_result`, CDR as the mapping's service calls) and its feedback topic. A goal the bus cancels
 * is cancelled on the remote server; a remote server that leaves the graph ends its goals aborted, with the reason.
 */
export class ZenohActionProxy {
  readonly name: string;
  readonly type: string;
  #ctx: ActionContext;
  #ends: ReturnType<typeof actionEndpoints>;
  #keys: Record<HiddenService, string>;
  #server: BusActionServer;
  #handles: Handle[];
  #followers = new Map<string, Follower>();
  #gone = new AbortController();
  /** The goals being followed, each until its outcome. */
  #following = new Set<Promise<GoalOutcome>>();
  /** Each hidden service client's attachments (its GID, its sequence), where the mapping has attachments. */
  #attachments: Partial<Record<HiddenService, ClientAttachments>> = {};
  #counters: ReturnType<typeof actionCounters>;
  #onAborted: (goalId: string, reason: string) => void;

  constructor(options: {
    ctx: ActionContext;
    name: string;
    type: string;
    /** The type hash each hidden service's server announced, by service name. */
    announcedHash: (service: string) => string | undefined;
    counters: ReturnType<typeof actionCounters>;
    /** Told why a goal ended aborted on the daemon's side (no result came). */
    onAborted: (goalId: string, reason: string) => void;
  }) {
    const { ctx, name, type, announcedHash, counters, onAborted } = options;
    this.#onAborted = onAborted;
    this.#ctx = ctx;
    this.name = name;
    this.type = type;
    this.#counters = counters;
    const ends = (this.#ends = actionEndpoints(name, type));
    const { mapping, link, node } = ctx;
    const key = (service: string, rosType: string) =>
      mapping.dataKey(service, rosType, announcedHash(service) ?? ctx.typeHash(rosType));
    this.#keys = {
      sendGoal: key(ends.sendGoal, ends.types.sendGoal),
      cancelGoal: key(ends.cancelGoal, ends.types.cancelGoal),
      getResult: key(ends.getResult, ends.types.getResult),
    };
    // The daemon's node announces the clients and subscribers rcl_action makes for an action client.
    const entities: LocalEntity[] = [
      [ends.sendGoal, ends.types.sendGoal, 'client', SERVICE_QOS],
      [ends.cancelGoal, ends.types.cancelGoal, 'client', SERVICE_QOS],
      [ends.getResult, ends.types.getResult, 'client', SERVICE_QOS],
      [ends.feedback, ends.types.feedbackMessage, 'subscriber', SERVICE_QOS],
      [ends.status, ends.types.status, 'subscriber', STATUS_QOS],
    ].map(([entityName, rosType, kind, qos]) => ({
      kind: kind as LocalEntity['kind'],
      entityId: ctx.entityId(),
      name: entityName as string,
      rosType: rosType as string,
      typeHash: ctx.typeHash(rosType as string),
      qos: qos as LocalEntity['qos'],
    }));
    if (mapping.attachments)
      HIDDEN_SERVICES.forEach((service, i) => {
        const token = () => mapping.entityToken(node(), entities[i]!);
        this.#attachments[service] = new ClientAttachments({ zid: () => node().zid, token });
      });
    this.#server = new BusActionServer({
      bus: ctx.bus,
      codec: ctx.codec,
      log: ctx.log,
      name,
      type,
      source: ctx.source,
      handler: {
        accept: (goal, goalId) => ctx.goalRules?.refusal(goal, type) ?? this.#sendGoal(goal, goalId),
        execute: (goal, context) => {
          const following = this.#follow(goal, context);
          this.#following.add(following);
          void following.catch(() => {}).finally(() => this.#following.delete(following));
          return following;
        },
      },
    });
    this.#handles = [
      link.declareSubscriber(mapping.subscribeKey(ends.feedback, ends.types.feedbackMessage), (sample) =>
        this.#onFeedback(sample),
      ),
      link.declareSubscriber(mapping.subscribeKey(ends.status, ends.types.status), (sample) => this.#onStatus(sample)),
      ...entities
        .filter((e) => mapping.announces(e.name))
        .map((e) => link.declareToken(() => mapping.entityToken(node(), e))),
      // zenoh-bridge-ros2dds's AC token, for the whole client, as the bridge announces its own action clients.
      ...(mapping.actionToken(node(), 'client', name, type) === undefined
        ? []
        : [link.declareToken(() => mapping.actionToken(node(), 'client', name, type)!)]),
    ];
  }

  /** The goals in flight whose state the server's status topic has told. */
  goals(): { goal: string; state: GoalState }[] {
    return [...this.#followers].flatMap(([goal, f]) => (f.state ? [{ goal, state: f.state }] : []));
  }

  /** Ends the goals in flight aborted with `reason`, and stops serving the action on the bus. */
  async close(reason: string): Promise<void> {
    this.#gone.abort(new Error(reason));
    // Each goal ends first with the reason, as its follower gives up; the bus server's close then finds none running.
    await Promise.allSettled([...this.#following]);
    this.#server.close();
    await Promise.all(this.#handles.map((h) => h.close()));
  }

  /** Sends the goal to the remote server under the bus goal's id; true when it accepted, else why not. */
  async #sendGoal(goal: Fields, goalId: string): Promise<true | string> {
    const { codec, link, timeoutMs } = this.#ctx;
    this.#followers.set(goalId, { early: [] });
    const payload = codec.encode(`${this.#ends.types.sendGoal}_Request`, { goal_id: uuidMessage(goalId), goal });
    await this.#linkUp(timeoutMs);
    const replies = await link.get(this.#keys.sendGoal, this.#request('sendGoal', payload, timeoutMs));
    const response = this.#response<{ accepted?: boolean }>(replies, `${this.#ends.types.sendGoal}_Response`);
    if (typeof response === 'string' || response.accepted !== true) {
      this.#followers.delete(goalId);
      this.#counters.rejected++;
      return typeof response === 'string' ? response : `the action server of ${this.name} on Zenoh rejected the goal`;
    }
    this.#counters.goals++;
    return true;
  }

  /** Follows an accepted goal: its feedback, a cancel from the bus, its result, the remote server leaving. */
  async #follow(goal: Fields, { goalId, feedback, signal }: GoalContext): Promise<GoalOutcome> {
    const follower = this.#followers.get(goalId) ?? { early: [] };
    follower.sink = feedback;
    for (const early of follower.early.splice(0)) feedback(early);
    this.#followers.set(goalId, follower);
    const onCancel = () => void this.#cancel(goalId);
    if (signal.aborted) onCancel();
    else signal.addEventListener('abort', onCancel, { once: true });
    // The daemon's own client tracks its goal too, under the same id: the stop cancels it once.
    const track = this.#ctx.goalRules?.track;
    const handle = { action: this.name, goalId, cancel: () => this.#cancelForHalt(goalId) };
    track?.started(handle);
    // A stop that came while the server was accepting it found no goal to cancel: it is cancelled now.
    if (!signal.aborted && this.#ctx.goalRules?.refusal(goal, this.type) !== undefined) onCancel();
    try {
      return await this.#result(goalId);
    } catch (error) {
      this.#onAborted(goalId, errorText(error));
      throw error;
    } finally {
      track?.ended(handle);
      signal.removeEventListener('abort', onCancel);
      this.#followers.delete(goalId);
    }
  }

  /**
   * The goal's result from get_result. A get_result that ends with no result (its query timed out at
   * resultTimeoutMs, or a router on the way dropped it, while a Nav2 goal runs on) is asked again when the status
   * topic says the goal ended; while it says the goal runs, at its next change. A goal the status says ended whose
   * result still does not come ends in that state with an empty result; with no status heard, aborted.
   */
  async #result(goalId: string): Promise<GoalOutcome> {
    const follower = this.#followers.get(goalId)!;
    let askedAfterEnd = false;
    for (;;) {
      const said = follower.state;
      const answer = await this.#askResult(goalId);
      if (typeof answer !== 'string') return answer;
      const now = follower.state;
      if (now === undefined || now === 'unknown') throw new Error(answer);
      if (isTerminal(now)) {
        if (askedAfterEnd) {
          this.#ctx.log.warn(
            { action: this.name, goal: goalId, state: now, why: answer },
            'zenoh: goal ended as its status says, without its result',
          );
          return { state: now as GoalOutcome['state'], result: {} };
        }
        askedAfterEnd = true;
      } else if (now === said) await this.#statusChange(follower);
      this.#counters.resultsAskedAgain++;
    }
  }

  /** One get_result: the outcome, or why there is none. Rejects when the server leaves the graph. */
  async #askResult(goalId: string): Promise<GoalOutcome | string> {
    const { codec, link, resultTimeoutMs } = this.#ctx;
    const payload = codec.encode(`${this.#ends.types.getResult}_Request`, { goal_id: uuidMessage(goalId) });
    const replies = await this.#unlessGone(
      link.get(this.#keys.getResult, this.#request('getResult', payload, resultTimeoutMs)),
    );
    const response = this.#response<{ status?: number; result?: Fields }>(
      replies,
      `${this.#ends.types.getResult}_Response`,
    );
    if (typeof response === 'string')
      return replies.length === 0
        ? `the action server of ${this.name} on Zenoh ended get_result with no result: it left the graph, or the query timed out (zenoh.actions.result_timeout_ms) and no status of the goal was heard`
        : response;
    const state = goalState(Number(response.status));
    if (state === 'succeeded' || state === 'canceled' || state === 'aborted')
      return { state, result: response.result ?? {} };
    return `the action server of ${this.name} answered get_result with status ${state}`;
  }

  /** Resolves at the goal's next state on the status topic. */
  async #statusChange(follower: Follower): Promise<void> {
    await this.#unlessGone(new Promise<void>((resolve) => (follower.wake = resolve)));
    follower.wake = undefined;
  }

  /** `work`, unless the server leaves the graph first: then rejects with the reason. */
  #unlessGone<T>(work: Promise<T>): Promise<T> {
    return unlessAborted(work, this.#gone.signal);
  }

  /** The operator's stop cancelling a relayed goal: the cancel sent as a bus client's is (the handle's answer). */
  async #cancelForHalt(goalId: string): Promise<{ returnCode: number }> {
    const answer = await this.#cancel(goalId);
    if (typeof answer === 'string') throw new Error(answer);
    return { returnCode: answer };
  }

  /** Sends cancel_goal for the goal: the server's return code, or why there is none. */
  async #cancel(goalId: string): Promise<number | string> {
    const { codec, link, timeoutMs, log } = this.#ctx;
    this.#counters.cancels++;
    const payload = codec.encode(`${this.#ends.types.cancelGoal}_Request`, {
      goal_info: { goal_id: uuidMessage(goalId), stamp: { sec: 0, nanosec: 0 } },
    });
    try {
      const replies = await link.get(this.#keys.cancelGoal, this.#request('cancelGoal', payload, timeoutMs));
      const response = this.#response<{ return_code?: number }>(replies, `${this.#ends.types.cancelGoal}_Response`);
      if (typeof response === 'string' || response.return_code !== 0)
        log.warn(
          { action: this.name, goal: goalId, answer: typeof response === 'string' ? response : response.return_code },
          'zenoh: the remote action server did not take the cancel',
        );
      return typeof response === 'string' ? response : Number(response.return_code);
    } catch (error) {
      log.warn({ action: this.name, goal: goalId, err: errorText(error) }, 'zenoh: a cancel was not sent');
      return `the cancel was not sent: ${errorText(error)}`;
    }
  }

  /**
   * Waits, at most `timeoutMs`, for the link to be up: the graph's tokens come while a new session is still being
   * declared on, so a goal sent as its server appears may find the session not yet handed out.
   */
  async #linkUp(timeoutMs: number): Promise<void> {
    const { link } = this.#ctx;
    if (link.session !== undefined) return;
    await new Promise<void>((resolve) => {
      const done = () => (clearTimeout(timer), off(), resolve());
      const off = link.onUp(done);
      const timer = setTimeout(done, timeoutMs);
    });
  }

  /** A request of one hidden service, with that client's attachment as rmw_zenoh's rcl_action client sends it. */
  #request(service: HiddenService, payload: Uint8Array, timeoutMs: number) {
    const attachment = this.#attachments[service]?.next();
    return {
      payload,
      timeoutMs,
      allComplete: this.#ctx.mapping.completeServers,
      firstReply: true,
      ...(attachment ? { attachment } : {}),
    };
  }

  /** The first reply decoded as `type`, or why there is none. */
  #response<T>(replies: Awaited<ReturnType<ActionContext['link']['get']>>, type: string): T | string {
    const first = replies[0];
    if (first === undefined) return `no answer from the action server of ${this.name} on Zenoh`;
    if (!first.ok)
      return `the action server of ${this.name} answered an error: ${new TextDecoder().decode(first.payload)}`;
    try {
      return this.#ctx.codec.decode<T>(type, first.sample.payload().toBytes());
    } catch (error) {
      return `the action server of ${this.name} answered what is no ${type}: ${errorText(error)}`;
    }
  }

  #onStatus(sample: Sample): void {
    let message: { status_list?: { goal_info?: { goal_id?: unknown }; status?: number }[] };
    try {
      message = this.#ctx.codec.decode(this.#ends.types.status, sample.payload().toBytes());
    } catch {
      // A status that does not decode is counted and skipped: get_result still carries the goal's end.
      this.#counters.malformedStatus++;
      return;
    }
    for (const { goal_info, status } of message.status_list ?? []) {
      const id = goalIdHex(goal_info?.goal_id);
      const follower = id === undefined ? undefined : this.#followers.get(id);
      const state = goalState(Number(status));
      if (follower === undefined || follower.state === state) continue; // another client's goal, or no change
      follower.state = state;
      follower.wake?.();
    }
  }

  #onFeedback(sample: Sample): void {
    let message: { goal_id: unknown; feedback: Fields };
    try {
      message = this.#ctx.codec.decode(this.#ends.types.feedbackMessage, sample.payload().toBytes());
    } catch {
      // A peer's feedback that does not decode is counted and skipped: the goal's result still comes.
      this.#counters.malformedFeedback++;
      return;
    }
    const id = goalIdHex(message.goal_id);
    const follower = id === undefined ? undefined : this.#followers.get(id);
    if (follower === undefined) return; // another client's goal
    this.#counters.feedback++;
    if (follower.sink) follower.sink(message.feedback);
    else follower.early.push(message.feedback);
  }
}
