import type { Logger } from 'pino';
import type { Intent, RunState, HaltHookOutcome, HaltHookReport } from '../contract/index.ts';
import type { CmdVelGate } from '../motion/index.ts';
import type { ApprovalFlow } from './approval-flow.ts';
import { AgentError } from './errors.ts';
import type { MotionLock } from './motion-lock.ts';
import { TERMINAL, type RunStore } from './run-store.ts';
import { HaltError, haltRobot } from './skills/halt.ts';
import type { HaltOrder } from '../halt/index.ts';

import { HALT_REPLY_WAIT_MS } from '../halt/index.ts';
import { within, errorText } from '../util/index.ts';

export interface RobotHaltOptions {
  motion: MotionLock;
  gate: CmdVelGate;
  store: RunStore;
  approvals: ApprovalFlow;
  log: Logger;
  /** The intents being accepted now, whose runs are not in the store yet. */
  accepting: () => Iterable<{ intent: Intent; accepting: Promise<RunState> }>;
  replyWaitMs?: number;
}

/** How one run's cancel went: cancelled (journaled), it had ended already, or the journal refused it. */
type CancelOutcome = 'cancelled' | 'ended' | Error;

interface Cancelled {
  runId: string;
  outcome: CancelOutcome;
}

/** A cancel or an acceptance not settled when the reply went. */
const PENDING = Symbol('pending');

/**
 * The agent's part of the operator's stop (the daemon's HaltAuthority calls it). First, in this tick and
 * before anything that can wait: the motion skill driving the robot is aborted and a zero Twist goes
 * through the gate, as the `stop` skill does. Then every run that has not ended is cancelled, and so is
 * each run of an intent being accepted at that moment, as soon as it exists (the agent asks `since`
 * before it starts a run). The reply waits a bounded time for the cancels to be journaled: a journal that
 * refuses them (a full disk) or does not answer (a stuck fsync) undoes nothing, and the reply says so.
 */
export class RobotHalt {
  readonly #motion: MotionLock;
  readonly #store: RunStore;
  readonly #accepting: RobotHaltOptions['accepting'];
  readonly #gate: CmdVelGate;
  readonly #log: Logger;
  readonly #approvals: ApprovalFlow;
  #waitMs: number;
  #count = 0;
  #last: HaltOrder | undefined;
  /** The run that asked for the stop being taken now (the stop skill's): not cancelled by it. */
  #spared: string | undefined;
  /** How the cancel of a run accepted after a stop went, by its intent, for that stop's reply. */
  #late = new WeakMap<Intent, Promise<Cancelled>>();

  constructor(options: RobotHaltOptions) {
    const { motion, store, accepting, gate, log, approvals } = options;
    this.#motion = motion;
    this.#store = store;
    this.#accepting = accepting;
    this.#gate = gate;
    this.#log = log;
    this.#approvals = approvals;
    this.#waitMs = options.replyWaitMs ?? HALT_REPLY_WAIT_MS;
  }

  /**
   * The operator's stop asked for by run `runId` (the stop skill): `halt` calls the daemon's stop, whose hooks run in
   * its first tick, and this one cancels every run but that one.
   */
  haltSparing<T>(runId: string, halt: () => T): T {
    this.#spared = runId;
    try {
      return halt();
    } finally {
      this.#spared = undefined;
    }
  }

  /** Taken when an intent starts being accepted, to ask `since` before its run starts. */
  get mark(): number {
    return this.#count;
  }

  /** The last stop since `mark`, if one came: the run must not start. */
  since(mark: number): HaltOrder | undefined {
    return this.#count === mark ? undefined : this.#last;
  }

  /**
   * The agent's part of the operator's stop (its HaltAuthority hook), in the stop's own tick: the motion
   * skill is aborted and a zero Twist goes through the gate; the runs' cancels follow in `settled`, which
   * resolves within the reply's wait whatever the journal does.
   */
  halt(order: HaltOrder): HaltHookOutcome {
    this.#count++;
    this.#last = order;
    const { by, reason } = order;
    try {
      const aborted = haltRobot(
        { motion: this.#motion, gate: this.#gate },
        reason ? `stopped by ${by}: ${reason}` : `stopped by ${by}`,
        order,
      );
      return { aborted, zeroed: this.#gate.haltTopics(), settled: this.#cancelAll(order) };
    } catch (error) {
      // The zero Twist did not go out: the runs are cancelled all the same, and the stop fails saying so.
      if (!(error instanceof HaltError)) throw error;
      return { aborted: error.aborted, zeroError: error, settled: this.#cancelAll(order) };
    }
  }

  /** Every run that has not ended, and each being accepted, cancelled; what is not journaled within the wait. */
  async #cancelAll(order: HaltOrder): Promise<HaltHookReport> {
    const spared = this.#spared;
    const active = [...this.#store.all()]
      .filter((r) => !TERMINAL.has(r.run.status) && r.run.run_id !== spared)
      .map((r) => r.run.run_id);
    const cancels = active.map(async (runId): Promise<Cancelled> => ({
      runId,
      outcome: await this.cancel(runId, order),
    }));
    // An intent being accepted whose run is not in the store yet: the agent cancels its run once it exists
    // (cancelAccepted). One whose run is there already (its intent hooks are running) is among `active`.
    const acceptances = [...this.#accepting()]
      .filter(({ intent }) => !this.#store.byIntent(intent.intent_id))
      .map(({ intent, accepting }) =>
        accepting.then(
          () => this.#late.get(intent),
          () => undefined,
        ),
      );
    const settled = await settledWithin<Cancelled | undefined>([...cancels, ...acceptances], this.#waitMs);

    const cancelled: string[] = [];
    const refused: string[] = [];
    let writing = 0;
    let stillAccepting = 0;
    settled.forEach((done, i) => {
      if (done === PENDING) {
        if (i >= active.length) return void stillAccepting++;
        // Ended in this process already (nothing of it acts again); its end is not durable yet.
        cancelled.push(active[i]!);
        return void writing++;
      }
      if (!done || done.outcome === 'ended' || cancelled.includes(done.runId)) return;
      cancelled.push(done.runId);
      if (done.outcome instanceof Error) refused.push(done.outcome.message);
    });

    const problems = [...new Set(refused)];
    if (writing > 0) {
      problems.unshift(
        `not yet journaled: the cancel of ${plural(writing, 'run')} is still being written after ${this.#waitMs} ms (the journal's disk is slow or stuck); the ${writing === 1 ? 'run is' : 'runs are'} ended here, and read cancelled once written; if never, a restart brings them back as last journaled`,
      );
    }
    if (stillAccepting > 0)
      problems.push(
        `${plural(stillAccepting, 'intent')} still being accepted: cancelled as soon as ${stillAccepting === 1 ? 'its run is' : 'their runs are'} written`,
      );
    if (writing > 0) this.#logLate(order, cancels);
    return { cancelled, problems };
  }

  /**
   * Cancels a run for a stop. A journal that refuses the cancel leaves the run ended in this process all the
   * same (nothing of it acts again), and shown so here rather than as it was: after a restart it comes back
   * from its last journaled state.
   */
  async cancel(runId: string, order: HaltOrder): Promise<CancelOutcome> {
    const why = order.reason ? `stop: ${order.reason}` : 'stop';
    try {
      await this.#approvals.cancel(runId, order.by, why);
      return 'cancelled';
    } catch (error) {
      // A run that ended meanwhile (its runner, a quota, another stop) needed no cancel.
      if (error instanceof AgentError) return 'ended';
      const record = this.#store.get(runId);
      if (record && !TERMINAL.has(record.run.status))
        this.#store.setUndurable(
          runId,
          'cancelled',
          `cancelled by ${order.by}: ${why} (not journaled: ${errorText(error)})`,
        );
      return error as Error;
    }
  }

  /**
   * The run of an intent that was being accepted when `order` came: it is cancelled before it starts, and
   * that stop's reply names it. Resolves with the run as it then is.
   */
  async cancelAccepted(intent: Intent, runId: string, order: HaltOrder): Promise<RunState> {
    const cancelling = this.cancel(runId, order).then((outcome) => ({ runId, outcome }));
    this.#late.set(intent, cancelling);
    await cancelling;
    return this.#store.get(runId)!.run;
  }

  /** Cancels still being written when the reply went: how they went, once they have. */
  #logLate(order: HaltOrder, cancels: Promise<Cancelled>[]): void {
    void Promise.all(cancels).then((done) => {
      const refused = done.map((d) => d.outcome).filter((o): o is Error => o instanceof Error);
      const fields = {
        by: order.by,
        reason: order.reason ?? null,
        refused: refused.length,
        errors: [...new Set(refused.map((e) => e.message))],
      };
      if (refused.length > 0) this.#log.warn(fields, 'robot stop: the journal refused cancels written late');
      else this.#log.info(fields, 'robot stop: the cancels are journaled');
    });
  }
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** Each promise's value, or PENDING for those not settled within `ms`; the promises must not reject. */
function settledWithin<T>(promises: Promise<T>[], ms: number): Promise<(T | typeof PENDING)[]> {
  return Promise.all(promises.map((p) => within(p, ms, PENDING)));
}
