import type { Intent, RunState, RunStatus, ToolResult } from '../contract/index.ts';
import type { RunQuotas } from '../policy/index.ts';
import { within } from '../util/index.ts';
import { TERMINAL, type RunRecord, type RunStore } from './run-store.ts';

/**
 * How long the end of a run waits for a skill it stopped to return and say what it did. A skill that
 * honours its abort signal (the navigator, a control loop) returns within milliseconds; one that does not
 * (a bus query waiting for its timeout) is not waited for past this, and its result says so.
 */
const STOPPED_CALL_WAIT_MS = 2000;

/** The longest delay setTimeout keeps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A call whose `tool.call` is journaled (or being journaled) and whose `tool.result` is not yet. */
interface OpenCall {
  tool: string;
  /** What its skill returned, once it has, and how long it took (ms; null if it never began). */
  result: ToolResult | undefined;
  durationMs: number | null;
  /** Wakes the end of the run waiting for `result`. */
  settled: (() => void) | undefined;
}

/**
 * A run while this process executes it: its counters, its abort signal, and the one way it ends. A run
 * ends once (`finish`), whoever ends it first (the runner, a cancel, a quota, an approval timeout); after
 * that, or once the daemon detaches from it at shutdown, its writes stop.
 */
export class LiveRun {
  readonly record: RunRecord;
  readonly quotas: RunQuotas;
  /** Tool calls so far (the quota counts them). */
  callCount = 0;
  tokens = 0;
  /** Some of `tokens` were estimated: a server sent no usage. */
  tokensEstimated = false;
  /** Set when a tool result looked like a prompt injection. */
  tainted = false;
  /** The last navigate_to goal, for the goal_reached validator. */
  lastGoal: { x: number; y: number } | undefined;
  /** Calls a person approved (their ids). */
  readonly approved = new Set<string>();
  /** Results of calls that already ran before a restart, by call id: replayed, never run twice. */
  readonly done = new Map<string, ToolResult>();
  /** Inputs as the policy chain rewrote them, by call id. */
  readonly rewritten = new Map<string, unknown>();
  /** When each running call started (performance.now()), for its duration. */
  readonly started = new Map<string, number>();
  #store: RunStore;
  #ended = false;
  #detached = false;
  #open = new Map<string, OpenCall>();
  #wallTimer: NodeJS.Timeout | undefined;
  /** performance.now() when the clock last started: monotonic, so a wall-clock step changes no quota. */
  #wallStartedAt = 0;
  #actedMs = 0;
  #onWallExceeded: (live: LiveRun) => void;
  /** Events noted but not yet appended: they go out with the next write, or at the end of this tick. */
  #noted: { kind: string; payload: Record<string, unknown> }[] = [];
  #flushScheduled = false;
  /** A background flush that failed: the next write reports it. */
  #writeError: Error | undefined;
  #ending: Promise<Error | undefined> | undefined;
  /**
   * Made when someone first asks for `signal`: aborting a controller costs several microseconds (an Event
   * dispatched, an Error with its stack) even with nothing listening, and most runs end with nobody holding
   * their signal. A run that never handed it out has nothing to abort.
   */
  #controller: AbortController | undefined;
  #stopReason: string | undefined;
  #endListeners = new Set<() => void>();

  constructor(options: {
    record: RunRecord;
    store: RunStore;
    quotas: RunQuotas;
    onWallExceeded: (live: LiveRun) => void;
  }) {
    const { record, store, quotas, onWallExceeded } = options;
    this.record = record;
    this.#store = store;
    this.quotas = quotas;
    this.#onWallExceeded = onWallExceeded;
  }

  get run(): RunState {
    return this.record.run;
  }

  get intent(): Intent {
    return this.record.intent;
  }

  /** Aborted when the run ends or the daemon lets go of it. */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      // Taken after the run stopped: it is aborted already, as it would have been.
      if (this.#stopReason !== undefined) this.#controller.abort(new Error(this.#stopReason));
    }
    return this.#controller.signal;
  }

  /**
   * Calls `listener` once when the run ends or the daemon lets go of it, like an abort listener on
   * `signal` but without making the signal. Returns a function that removes it.
   */
  onEnd(listener: () => void): () => void {
    this.#endListeners.add(listener);
    return () => void this.#endListeners.delete(listener);
  }

  /** True once the run ended or the daemon let go of it: nothing more is written. */
  get closed(): boolean {
    return this.#ended || this.#detached || TERMINAL.has(this.record.run.status);
  }

  get detached(): boolean {
    return this.#detached;
  }

  /** Appends an event and waits until it (and everything noted before it) is durable: one journal write. */
  // Not async: a reaction on the write instead of an async function's frame and await, for every tool call.
  event(kind: string, payload: Record<string, unknown>): Promise<void> {
    if (this.closed) return DONE;
    const batch = this.#noted;
    this.#noted = [];
    batch.push({ kind, payload });
    return this.#store.events(this.run.run_id, batch, ONE_RECORD).then(() => this.#throwWriteError());
  }

  /**
   * Records an event that nothing waits on yet (a model message, a tool result, a policy decision): it is
   * appended with the run's next write, so the records of one tool call go to the journal together, or at
   * the end of this tick if nothing writes before. Like every event it shows in the run only once durable,
   * and anything that acts or reports the run's state (`event`, `status`, `finish`) waits for it first.
   */
  note(kind: string, payload: Record<string, unknown>): void {
    if (this.closed) return;
    this.#noted.push({ kind, payload });
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(LiveRun.#flushLater, this);
  }

  async status(status: RunStatus, reason?: string): Promise<RunState> {
    if (this.closed) return this.run;
    const noted = this.#appendNoted();
    return this.#settle(noted, this.#store.transition(this.run.run_id, status, reason));
  }

  /**
   * Ends the run with a terminal status (the first call wins). Whatever it is doing is stopped first, so a
   * robot driven by one of its skills stops now, not once the end is durable; a call that was acting then
   * gets its `tool.result` (what the stopped skill returned, `run_ended` naming the status) before the end.
   */
  finish(status: RunStatus, reason?: string): Promise<RunState> {
    if (this.closed) return Promise.resolve(this.run);
    this.#ended = true;
    this.pauseClock();
    this.#abort(reason ?? status);
    const ending =
      this.#open.size === 0
        ? this.#end(status, reason)
        : this.#closeCalls(status, reason).then(() => this.#end(status, reason));
    this.#ending = ending.then(
      () => undefined,
      (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
    );
    return ending;
  }

  /**
   * A call whose `tool.call` is about to be journaled, and whose skill may then act: until its result is
   * noted (`noteResult`), the end of the run waits for it and journals its outcome.
   */
  openCall(callId: string, tool: string): void {
    this.#open.set(callId, { tool, result: undefined, durationMs: null, settled: undefined });
  }

  /** What an open call's skill returned (or why it did not act). */
  settleCall(callId: string, result: ToolResult): void {
    const call = this.#open.get(callId);
    if (!call) return;
    call.result = result;
    call.durationMs = durationSince(this.started.get(callId));
    call.settled?.();
  }

  /** Notes a call's `tool.result` and closes the call. Once the run has ended, its end records it instead. */
  noteResult(callId: string, payload: Record<string, unknown>): void {
    if (this.closed) return;
    this.#open.delete(callId);
    this.note('tool.result', payload);
  }

  /** Waits (a while) for the calls the end stopped, and notes their results to go out with the end. */
  async #closeCalls(status: RunStatus, reason: string | undefined): Promise<void> {
    const calls = [...this.#open];
    await Promise.all(calls.map(([, call]) => (call.result ? undefined : settledWithin(call, STOPPED_CALL_WAIT_MS))));
    this.#open.clear();
    for (const [callId, call] of calls) {
      const result: ToolResult = call.result ?? {
        ok: false,
        error: `the run ended (${reason ?? status}) while ${call.tool} was acting, and it did not return within ${STOPPED_CALL_WAIT_MS} ms of being stopped: what it did is unknown`,
      };
      const durationMs = call.result ? call.durationMs : durationSince(this.started.get(callId));
      this.started.delete(callId);
      this.#noted.push({
        kind: 'tool.result',
        payload: { call_id: callId, tool: call.tool, result, run_ended: status, duration_ms: durationMs },
      });
    }
  }

  /**
   * Writes the end once the run's noted events are in the journal. One it refused outright (over its size
   * limit, not JSON) fails alone, before anything is written: the end must not then claim `succeeded` over
   * events that are not there, so the run fails, naming why.
   */
  async #end(status: RunStatus, reason: string | undefined): Promise<RunState> {
    const refused = await (this.#appendNoted() ?? Promise.resolve()).then(
      () => this.#takeWriteError(),
      (error: unknown) => this.#takeWriteError() ?? (error as Error),
    );
    if (refused === undefined) return this.#store.transition(this.run.run_id, status, reason);
    const why = `events of the run were not journaled: ${refused.message}`;
    if (status === 'succeeded') return this.#store.transition(this.run.run_id, 'failed', why);
    return this.#store.transition(this.run.run_id, status, reason === undefined ? why : `${reason} (${why})`);
  }

  #takeWriteError(): Error | undefined {
    const error = this.#writeError;
    this.#writeError = undefined;
    return error;
  }

  /**
   * Settles once the first `finish` has: undefined when its end is durable (or nothing ended the run), else
   * why the journal did not take it. A later `finish` returns at once; this lets it learn how the first went.
   */
  endError(): Promise<Error | undefined> {
    return this.#ending ?? Promise.resolve(undefined);
  }

  /** Appends the noted events now, in order and in this tick (one journal write with what follows). */
  #appendNoted(): Promise<unknown> | undefined {
    const noted = this.#noted;
    if (noted.length === 0) return undefined;
    this.#noted = [];
    return this.#store.events(this.run.run_id, noted, ONE_RECORD);
  }

  // Static, with the run as an argument: a closure per run costs more than it looks (under tsx each named
  // closure is named with a defineProperty).
  static #flushLater(live: LiveRun): void {
    live.#flushNoted();
  }

  #flushNoted(): void {
    this.#flushScheduled = false;
    this.#appendNoted()?.catch((error: unknown) => void (this.#writeError ??= error as Error));
  }

  /** Waits for a write and the noted ones before it; a failed background write fails this one. */
  async #settle<T>(noted: Promise<unknown> | undefined, write: Promise<T>): Promise<T> {
    const result = noted ? (await Promise.all([noted, write]))[1] : await write;
    this.#throwWriteError();
    return result;
  }

  #throwWriteError(): void {
    const error = this.#writeError;
    if (!error) return;
    this.#writeError = undefined;
    throw error;
  }

  /** The daemon is stopping: keep the run's last durable state (awaiting_approval stays resumable). */
  detach(): void {
    this.#flushNoted();
    this.#detached = true;
    this.pauseClock();
    this.#abort('the daemon is stopping');
  }

  /** Stops whatever the run is doing: its end listeners, then its signal (if anyone has it). */
  #abort(reason: string): void {
    this.#stopReason ??= reason;
    const listeners = [...this.#endListeners];
    this.#endListeners.clear();
    for (const listener of listeners) listener();
    if (this.#controller && !this.#controller.signal.aborted) this.#controller.abort(new Error(reason));
  }

  /**
   * The wall-time quota counts the time the run acts, in this process and in those before a restart
   * (`restoreActed`), not the time it waits for a person nor the time the daemon was down. A run with no
   * time left ends here, before anything else it does can act.
   */
  startClock(): void {
    if (this.#wallTimer || this.closed) return;
    const left = this.quotas.maxWallS * 1000 - this.#actedMs;
    if (left <= 0) return this.#onWallExceeded(this);
    this.#wallStartedAt = performance.now();
    // setTimeout fires a delay past 2^31-1 ms (24.8 days) after 1 ms: a longer quota is counted in stretches.
    this.#wallTimer =
      left > MAX_TIMER_MS
        ? setTimeout(LiveRun.#nextStretch, MAX_TIMER_MS, this)
        : setTimeout(this.#onWallExceeded, left, this);
  }

  static #nextStretch(live: LiveRun): void {
    live.pauseClock();
    live.startClock();
  }

  pauseClock(): void {
    if (!this.#wallTimer) return;
    clearTimeout(this.#wallTimer);
    this.#wallTimer = undefined;
    this.#actedMs += performance.now() - this.#wallStartedAt;
  }

  /** Milliseconds the run has acted (the wall-time quota's count), the clock's running stretch included. */
  get actedMs(): number {
    return this.#actedMs + (this.#wallTimer ? performance.now() - this.#wallStartedAt : 0);
  }

  /** A resumed run's time acted before the restart, from its journal: its quota goes on from there. */
  restoreActed(ms: number): void {
    this.#actedMs = ms;
  }
}

/**
 * A run's writes go as one journal record each (see RunStore.events): a tool call's one write holds the
 * previous call's result, the model's message and the call, and one record costs the journal less than three.
 */
const ONE_RECORD = true;

/** What event answers once the run is closed: settled once, shared. */
const DONE: Promise<void> = Promise.resolve();

function durationSince(started: number | undefined): number | null {
  return started === undefined ? null : performance.now() - started;
}

function settledWithin(call: OpenCall, ms: number): Promise<void> {
  return within(new Promise<void>((resolve) => (call.settled = resolve)), ms);
}
