import type { Logger } from 'pino';
import type { Intent } from '../contract/index.ts';
import type { RunQuotas } from '../policy/index.ts';
import type { ParsedIntent } from './intents.ts';
import { LiveRun } from './live-run.ts';
import { TERMINAL, type RunRecord, type RunStore } from './run-store.ts';
import { within, errorText } from '../util/index.ts';

export interface LiveRunsOptions {
  store: RunStore;
  log: Logger;
  /** A run's quotas when it is tracked: asked each time, as a config reload may change them. */
  quotas: (intent: Intent) => RunQuotas;
  /** Runs the run's skill or model until it returns; ending the run is its job. */
  execute: (live: LiveRun, parsed: ParsedIntent) => Promise<unknown>;
}

/**
 * The runs this process holds, by run id, and the tasks that execute them. A run is held while a task
 * executes it, or while it is being ended by someone else (a cancel, an approval, an expiry after a
 * restart): whoever tracks a run to end it must `dropIdle` it once it ended, or it stays held.
 */
export class LiveRuns {
  #store: RunStore;
  #log: Logger;
  #quotas: (intent: Intent) => RunQuotas;
  #execute: (live: LiveRun, parsed: ParsedIntent) => Promise<unknown>;
  #live = new Map<string, LiveRun>();
  #tasks = new Set<Promise<void>>();
  #running = new WeakSet<LiveRun>();
  // Made once, not per run: a closure per run costs a defineProperty under tsx (it names each one).
  #onWallExceeded = (live: LiveRun): void => void this.#wallExceeded(live);

  constructor(options: LiveRunsOptions) {
    const { store, log, quotas, execute } = options;
    this.#store = store;
    this.#log = log;
    this.#quotas = quotas;
    this.#execute = execute;
  }

  get size(): number {
    return this.#live.size;
  }

  get(runId: string): LiveRun | undefined {
    return this.#live.get(runId);
  }

  track(record: RunRecord): LiveRun {
    const live = new LiveRun({
      record,
      store: this.#store,
      quotas: this.#quotas(record.intent),
      onWallExceeded: this.#onWallExceeded,
    });
    this.#live.set(record.run.run_id, live);
    return live;
  }

  /** Lets go of a run no task executes; one a task executes is let go when the task ends. */
  dropIdle(live: LiveRun): void {
    if (!this.#running.has(live)) this.#live.delete(live.run.run_id);
  }

  /** Executes the run in the background; it is ended, failed if need be, whatever the runner does. */
  run(live: LiveRun, parsed: ParsedIntent): void {
    this.#running.add(live);
    const task = (async () => {
      try {
        await this.#execute(live, parsed);
        // A runner that returns without ending the run (it should not) must not leave it running forever.
        if (!live.closed) await live.finish('failed', 'the run ended without a result');
      } catch (error) {
        this.#log.error({ run: live.run.run_id, err: errorText(error) }, 'agent run failed');
        const reason = `internal error: ${errorText(error)}`;
        // Its error is also what endError() reports, below.
        await live.finish('failed', reason).catch(() => undefined);
        // The end did not reach the journal (this finish failed, or an earlier one did, the runner's own or a
        // cancel's): say so, and show the run ended in this process rather than `running` until a restart
        // (which brings it back interrupted, from its last durable state).
        const endError = await live.endError();
        if (endError && !TERMINAL.has(live.run.status)) {
          this.#log.error(
            { run: live.run.run_id, err: endError.message },
            'the end of an agent run could not be journaled; it shows failed until a restart',
          );
          this.#store.setUndurable(live.run.run_id, 'failed', `${reason} (not journaled: ${endError.message})`);
        }
      } finally {
        live.pauseClock();
        this.#running.delete(live);
        // Held until its end is durable (a cancel stops the runner before it writes the end): a decision
        // that comes meanwhile, an approval, must find the run ending, not take it for one to resume.
        await live.endError();
        if (!live.detached) this.#live.delete(live.run.run_id);
      }
    })();
    this.#tasks.add(task);
    void task.finally(() => this.#tasks.delete(task));
  }

  /** `reason`: why the agent stops. Waits up to 2 s for the tasks to end. */
  async close(reason: string): Promise<void> {
    // All at once: each end may wait for a skill it stopped to say what it did.
    await Promise.all([...this.#live.values()].map((live) => this.#letGo(live, reason)));
    await within(Promise.allSettled([...this.#tasks]), 2000);
  }

  async #letGo(live: LiveRun, reason: string): Promise<void> {
    // A run waiting for a person keeps waiting across the restart; one that was acting is interrupted.
    const { status } = live.run;
    try {
      if (status === 'running' || status === 'pending')
        await live.finish('interrupted', `${reason} while the run was ${status}; submit the intent again to retry`);
    } finally {
      live.detach();
    }
  }

  async #wallExceeded(live: LiveRun): Promise<void> {
    const reason = `the run acted for more than its quota of ${live.quotas.maxWallS} s`;
    try {
      live.note('policy.decision', { hook: 'quota', rule: 'quota.wall_time', action: 'deny', reason, stage: 'run' });
      await live.finish('failed', `quota.wall_time: ${reason}`);
    } catch (error) {
      // Called from a timer: nothing awaits it. The journal refused the end; show the run ended here anyway.
      this.#log.error(
        { run: live.run.run_id, err: errorText(error) },
        'the wall-time end of an agent run could not be journaled',
      );
      if (!TERMINAL.has(live.run.status))
        this.#store.setUndurable(
          live.run.run_id,
          'failed',
          `quota.wall_time: ${reason} (not journaled: ${errorText(error)})`,
        );
    }
  }
}
