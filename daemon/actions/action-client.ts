import type { Bus, MessageCodec, Subscription } from '../bus/index.ts';
import { QueryError } from '../bus/index.ts';
import { actionEndpoints, CANCEL_CODE, goalState, isTerminal, type GoalState } from './action-names.ts';
import { goalIdHex, newGoalId, uuidMessage } from './goal-id.ts';
import { checkedMessage, jsonObject, jsonPayload } from './json-payload.ts';
import { errorText, unlessAborted } from '../util/index.ts';

/** How a goal ended, as the client saw it. `reason` says why when the server gave no result. */
export interface ActionOutcome {
  goalId: string;
  state: GoalState;
  result: Record<string, unknown>;
  reason?: string;
}

export interface SendGoalOptions {
  /** Each feedback of this goal (the fields of `<type>_Feedback`). */
  onFeedback?: (feedback: Record<string, unknown>) => void;
  /** How long the server may take to accept or reject, in ms. */
  acceptTimeoutMs?: number;
}

export interface ActionClientOptions {
  bus: Bus;
  codec: MessageCodec;
  name: string;
  type: string;
  /** Called when a goal is accepted and when it ends, so that a registry can cancel what is in flight. */
  track?: { started(goal: GoalHandle): void; ended(goal: GoalHandle): void };
}

/** An accepted goal: its result, and its cancel. */
export interface GoalHandle {
  readonly action: string;
  readonly goalId: string;
  /** Waits for the result, at most `timeoutMs`; a goal with no result by then is cancelled and ends aborted. */
  result(options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<ActionOutcome>;
  /** Asks the server to cancel the goal; resolves with action_msgs' return code. */
  cancel(): Promise<{ returnCode: number }>;
}

/**
 * An action client on the bus, as rcl_action makes one: send_goal, then get_result (which the server answers when
 * the goal ends), feedback taken from the feedback topic by goal id. A goal whose server is gone, or that gives no
 * result in time, ends `aborted` with the reason, never hangs.
 */
export class BusActionClient {
  readonly name: string;
  readonly type: string;
  /** Feedback messages that did not decode as the action's type. */
  malformedFeedback = 0;
  #bus: Bus;
  #codec: MessageCodec;
  #ends: ReturnType<typeof actionEndpoints>;
  #track: ActionClientOptions['track'];
  #listeners = new Map<string, (feedback: Record<string, unknown>) => void>();
  #feedback: Subscription | undefined;

  constructor(options: ActionClientOptions) {
    const { bus, codec, name, type, track } = options;
    this.name = name;
    this.type = type;
    this.#bus = bus;
    this.#codec = codec;
    this.#track = track;
    this.#ends = actionEndpoints(name, type);
  }

  /** Whether a server of this action is reachable on the bus now. */
  available(): boolean {
    return this.#bus.queryables().includes(this.#ends.sendGoal);
  }

  /** Sends a goal. Resolves with its handle when accepted, with `undefined` when the server rejects it. */
  async sendGoal(goal: Record<string, unknown>, options: SendGoalOptions = {}): Promise<GoalHandle | undefined> {
    const { onFeedback, acceptTimeoutMs = 10_000 } = options;
    // A wrong field is named here, before anything is sent.
    checkedMessage(this.#codec, this.#ends.types.goal, goal, `a goal of ${this.name} (${this.type})`);
    const goalId = newGoalId();
    if (onFeedback) this.#listen(goalId, onFeedback);
    let reply: Record<string, unknown>;
    try {
      reply = jsonObject(
        `${this.#ends.sendGoal} reply`,
        await this.#bus.query(this.#ends.sendGoal, jsonPayload({ goal_id: uuidMessage(goalId), goal }), {
          timeoutMs: acceptTimeoutMs,
        }),
      );
    } catch (error) {
      this.#unlisten(goalId);
      throw error;
    }
    if (reply.accepted !== true) {
      this.#unlisten(goalId);
      return undefined;
    }
    const handle: GoalHandle = {
      action: this.name,
      goalId,
      result: (opts) => this.#result(handle, opts),
      cancel: () => this.#cancel(goalId),
    };
    this.#track?.started(handle);
    return handle;
  }

  /** Stops taking feedback. */
  close(): void {
    if (this.#feedback) this.#bus.unsubscribe(this.#feedback);
    this.#feedback = undefined;
    this.#listeners.clear();
  }

  async #result(
    handle: GoalHandle,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<ActionOutcome> {
    const { timeoutMs = 3_600_000, signal } = options;
    const { goalId } = handle;
    try {
      const query = this.#bus.query(this.#ends.getResult, jsonPayload({ goal_id: uuidMessage(goalId) }), {
        timeoutMs,
      });
      // On an abort the catch below answers with the signal's reason, whatever was thrown.
      const reply = jsonObject(`${this.#ends.getResult} reply`, await (signal ? unlessAborted(query, signal) : query));
      const state = goalState(Number(reply.status));
      const result = (reply.result ?? {}) as Record<string, unknown>;
      if (!isTerminal(state))
        return { goalId, state: 'aborted', result, reason: `the server answered get_result with status ${state}` };
      return { goalId, state, result };
    } catch (error) {
      const gone = error instanceof QueryError && error.code === 'no_queryable';
      if (!gone) await this.#cancel(goalId).catch(() => undefined);
      const reason = gone
        ? `the action server of ${this.name} is gone`
        : signal?.aborted
          ? `cancelled: ${reasonText(signal.reason)}`
          : errorText(error);
      return { goalId, state: signal?.aborted ? 'canceled' : 'aborted', result: {}, reason };
    } finally {
      this.#unlisten(goalId);
      this.#track?.ended(handle);
    }
  }

  async #cancel(goalId: string): Promise<{ returnCode: number }> {
    const reply = jsonObject(
      `${this.#ends.cancelGoal} reply`,
      await this.#bus.query(
        this.#ends.cancelGoal,
        jsonPayload({ goal_info: { goal_id: uuidMessage(goalId), stamp: { sec: 0, nanosec: 0 } } }),
        { timeoutMs: 5000 },
      ),
    );
    const code = Number(reply.return_code);
    return { returnCode: Number.isInteger(code) ? code : CANCEL_CODE.rejected };
  }

  #listen(goalId: string, listener: (feedback: Record<string, unknown>) => void): void {
    this.#listeners.set(goalId, listener);
    this.#feedback ??= this.#bus.subscribe({
      name: `action-client ${this.name}`,
      topic: this.#ends.feedback,
      queue: { policy: 'drop-oldest', depth: 100 },
      handler: (msg) => {
        let message: { goal_id: unknown; feedback: Record<string, unknown> };
        try {
          message = this.#codec.decode(this.#ends.types.feedbackMessage, msg.data);
        } catch {
          // A peer's feedback that does not decode is counted and skipped: the goal's result still comes.
          this.malformedFeedback++;
          return;
        }
        const id = goalIdHex(message.goal_id);
        if (id !== undefined) this.#listeners.get(id)?.(message.feedback);
      },
    });
  }

  #unlisten(goalId: string): void {
    this.#listeners.delete(goalId);
  }
}

function reasonText(reason: unknown): string {
  return reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : 'aborted';
}
