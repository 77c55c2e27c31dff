import { remainingMs } from '../util/index.ts';
import type { LiveRun } from './live-run.ts';

export type ApprovalOutcome = 'approved' | 'ended';

export interface ApprovalRequest {
  callId: string;
  tool: string;
  input: unknown;
  rule: string;
  reason: string;
}

interface Waiter {
  live: LiveRun;
  callId: string;
  resolve: (outcome: ApprovalOutcome) => void;
  timer: NodeJS.Timeout;
}

/**
 * Pauses runs until a person approves. A paused run is `awaiting_approval` in the journal with an
 * `approval.requested` event naming the call, so it survives a restart: the deadline is in the event, and
 * the component re-arms it at start. Approving resolves the waiting call; cancelling or the deadline ends
 * the run.
 *
 * The journaled deadline is wall time, for a restart only. Within the process the wait is timed on the
 * monotonic clock (`#due`), so an NTP step (years at the first sync on a robot without an RTC) neither
 * expires every pending approval at once nor keeps one waiting past its timeout; see `remainingMs` for how a
 * journaled deadline is read back after a restart.
 */
export class ApprovalGate {
  #waiting = new Map<string, Waiter>();
  /** When each run's approval is due, on the monotonic clock (ms). */
  #due = new Map<string, number>();
  #timeoutS: number;
  #onExpired: (runId: string) => void;

  constructor(options: { timeoutS: number; onExpired: (runId: string) => void }) {
    this.#timeoutS = options.timeoutS;
    this.#onExpired = options.onExpired;
  }

  /** Records the request durably, then waits. Resolves `ended` when the run ends or detaches instead. */
  async wait(live: LiveRun, request: ApprovalRequest): Promise<ApprovalOutcome> {
    const timeoutMs = this.#timeoutS * 1000;
    const deadline = BigInt(Math.round(Date.now() + timeoutMs)) * 1_000_000n;
    this.#due.set(live.run.run_id, performance.now() + timeoutMs);
    live.pauseClock();
    await live.event('approval.requested', {
      call_id: request.callId,
      tool: request.tool,
      input: request.input,
      rule: request.rule,
      reason: request.reason,
      deadline: deadline.toString(),
      // The wall-time quota's count so far: a run resumed after a restart goes on from it (see restore).
      acted_ms: Math.round(live.actedMs),
    });
    await live.status('awaiting_approval', `${request.rule}: ${request.reason}`);
    if (live.closed) return 'ended';
    const outcome = await new Promise<ApprovalOutcome>((resolve) => {
      const runId = live.run.run_id;
      const onAbort = () => {
        this.#waiting.delete(runId);
        this.#due.delete(runId);
        clearTimeout(timer);
        resolve('ended');
      };
      const timer = this.#arm(runId);
      live.signal.addEventListener('abort', onAbort, { once: true });
      this.#waiting.set(runId, {
        live,
        callId: request.callId,
        timer,
        resolve: (o) => {
          live.signal.removeEventListener('abort', onAbort);
          resolve(o);
        },
      });
    });
    if (outcome === 'approved') live.startClock();
    return outcome;
  }

  /**
   * Arms the deadline of a run found awaiting approval at start (no live waiter), from the wall-clock
   * `deadline` (ns) of its event; or, when this process already times it, again (a timer that fired early).
   */
  arm(runId: string, deadline: bigint): NodeJS.Timeout {
    this.#dueOf(runId, deadline);
    return this.#arm(runId);
  }

  /**
   * Whether the approval of `runId` is due; `deadline` (wall ns, from its event) when this process does not time it
   * yet.
   */
  overdue(runId: string, deadline: bigint): boolean {
    return this.#dueOf(runId, deadline) <= performance.now();
  }

  /** Stops timing a run's approval (it was granted, cancelled or expired). */
  forget(runId: string): void {
    this.#due.delete(runId);
  }

  #dueOf(runId: string, deadline: bigint): number {
    let due = this.#due.get(runId);
    if (due === undefined) {
      due = performance.now() + remainingMs(Number(deadline / 1_000_000n), this.#timeoutS * 1000, Date.now());
      this.#due.set(runId, due);
    }
    return due;
  }

  #arm(runId: string): NodeJS.Timeout {
    const ms = Math.max(0, (this.#due.get(runId) ?? 0) - performance.now());
    // setTimeout holds at most ~24.8 days; longer approvals are re-checked when it fires.
    const timer = setTimeout(() => this.#onExpired(runId), Math.min(Math.ceil(ms), 2 ** 31 - 1));
    timer.unref();
    return timer;
  }

  /** The call a live run waits on, if it waits. */
  waiting(runId: string): { callId: string } | undefined {
    const w = this.#waiting.get(runId);
    return w ? { callId: w.callId } : undefined;
  }

  /** Lets the waiting call go ahead. Returns false when nothing live waits (the caller resumes the run). */
  release(runId: string): boolean {
    const w = this.#waiting.get(runId);
    if (!w) return false;
    this.#waiting.delete(runId);
    this.#due.delete(runId);
    clearTimeout(w.timer);
    w.live.approved.add(w.callId);
    w.resolve('approved');
    return true;
  }

  clearAll(): void {
    for (const w of this.#waiting.values()) clearTimeout(w.timer);
    this.#waiting.clear();
    this.#due.clear();
  }
}
