import type { Intent, RunState, RunStatus, ToolResult } from '../contract/schemas.ts';
import type { RunQuotas } from '../policy/quotas.ts';
import { TERMINAL, type RunRecord, type RunStore } from './run-store.ts';

/**
 * A run while this process executes it: its counters, its abort signal, and the one way it ends. A run
 * ends once (`finish`), whoever ends it first (the runner, a cancel, a quota, an approval timeout); after
 * that, or once the daemon detaches from it at shutdown, its writes stop.
 */
export class LiveRun {
  readonly record: RunRecord;
  readonly quotas: RunQuotas;
  readonly controller = new AbortController();
  /** Tool calls so far (the quota counts them). */
  callCount = 0;
  tokens = 0;
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
  #wallTimer: NodeJS.Timeout | undefined;
  #wallStartedAt = 0;
  #wallUsedMs = 0;
  #onWallExceeded: () => void;

  constructor(options: { record: RunRecord; store: RunStore; quotas: RunQuotas; onWallExceeded: () => void }) {
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

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** True once the run ended or the daemon let go of it: nothing more is written. */
  get closed(): boolean {
    return this.#ended || this.#detached || TERMINAL.has(this.record.run.status);
  }

  get detached(): boolean {
    return this.#detached;
  }

  async event(kind: string, payload: Record<string, unknown>): Promise<void> {
    if (this.closed) return;
    await this.#store.event(this.run.run_id, kind, payload);
  }

  async status(status: RunStatus, reason?: string): Promise<RunState> {
    if (this.closed) return this.run;
    return this.#store.transition(this.run.run_id, status, reason);
  }

  /** Ends the run with a terminal status (the first call wins) and stops whatever it is doing. */
  async finish(status: RunStatus, reason?: string): Promise<RunState> {
    if (this.closed) return this.run;
    this.#ended = true;
    this.pauseClock();
    const state = await this.#store.transition(this.run.run_id, status, reason);
    this.controller.abort(new Error(reason ?? status));
    return state;
  }

  /** The daemon is stopping: keep the run's last durable state (awaiting_approval stays resumable). */
  detach(): void {
    this.#detached = true;
    this.pauseClock();
    this.controller.abort(new Error('the daemon is stopping'));
  }

  /** Wall-time quota: counts while the run acts, not while it waits for a person. */
  startClock(): void {
    if (this.#wallTimer || this.closed) return;
    this.#wallStartedAt = Date.now();
    const left = this.quotas.maxWallS * 1000 - this.#wallUsedMs;
    this.#wallTimer = setTimeout(this.#onWallExceeded, Math.max(0, left));
  }

  pauseClock(): void {
    if (!this.#wallTimer) return;
    clearTimeout(this.#wallTimer);
    this.#wallTimer = undefined;
    this.#wallUsedMs += Date.now() - this.#wallStartedAt;
  }
}
