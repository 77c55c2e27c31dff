import type { Logger } from 'pino';
import { newId, nowNs, type RefusalRecorder, type RefusalRun } from '../contract/index.ts';

/** The refused calls journaled one by one in a window; the rest are counted in its summary. */
export const MAX_NOTED = 10;

/** Why the gateway refused a call before any intent: the client's rate, or a tool it does not expose. */
export type RefusalReason = 'rate' | 'unexposed';

interface Window {
  /** The run, once the agent made it; undefined when no agent is running (then only the log and counters). */
  run: Promise<RefusalRun | undefined>;
  /** Events and the end, in order, after the run is made. */
  chain: Promise<void>;
  byCall: Map<string, number>;
  total: number;
  timer: NodeJS.Timeout;
}

/**
 * One MCP session's refused calls, as runs: the first refusal opens a run (failed, actor `mcp:<client>`), the
 * first MAX_NOTED refused calls are its `mcp.refused` events, and `windowMs` later (or when the session closes)
 * it ends with an `mcp.refused.total` event and a reason counting every refusal by tool and reason. A flood of any size
 * thus costs the journal at most one run of MAX_NOTED + 5 records per window per session, and the log two lines
 * (when the window opens and when it ends), while `runs` and central see what the outside agent tried.
 */
export class RefusalWindow {
  #recorder: () => RefusalRecorder | undefined;
  #actor: () => string;
  #windowMs: number;
  #log: Logger;
  #open: Window | undefined;

  constructor({
    recorder,
    actor,
    windowMs,
    log,
  }: {
    recorder: () => RefusalRecorder | undefined;
    actor: () => string;
    windowMs: number;
    log: Logger;
  }) {
    this.#recorder = recorder;
    this.#actor = actor;
    this.#windowMs = windowMs;
    this.#log = log;
  }

  /** A refused call: `message` is what the client was answered. */
  refused(tool: string, reason: RefusalReason, message: string): void {
    const open = (this.#open ??= this.#start(tool, reason));
    open.total++;
    const key = `${tool}:${reason}`;
    open.byCall.set(key, (open.byCall.get(key) ?? 0) + 1);
    if (open.total > MAX_NOTED) return;
    const payload = { tool, reason, message, n: open.total };
    this.#then(open, (run) => run.note([{ kind: 'mcp.refused', payload }]));
  }

  /** Ends the open window now (the session closed); resolves once its run is ended. */
  close(): Promise<void> {
    const open = this.#open;
    if (!open) return Promise.resolve();
    this.#end(open);
    return open.chain;
  }

  #start(tool: string, reason: RefusalReason): Window {
    const actor = this.#actor();
    this.#log.warn({ actor, tool, reason }, 'MCP calls refused: a refusal run records them');
    const intent = {
      intent_id: newId(),
      type: 'mcp_refused',
      params: { window_s: this.#windowMs / 1000 },
      policy_ctx: { actor, source: 'mcp' as const },
      targets: [],
      created_at: nowNs().toString(),
    };
    const run = this.#openRun(intent);
    const timer = setTimeout(() => this.#end(open), this.#windowMs).unref();
    const open: Window = { run, chain: run.then(() => undefined), byCall: new Map(), total: 0, timer };
    return open;
  }

  async #openRun(intent: Parameters<RefusalRecorder['openRefusals']>[0]): Promise<RefusalRun | undefined> {
    try {
      const until = `MCP calls from ${intent.policy_ctx.actor} being refused by the gateway: counted when the window ends (${this.#windowMs / 1000} s)`;
      return await this.#recorder()?.openRefusals(intent, 'mcp:refused', until);
    } catch (error) {
      // A journal that refuses the run must not turn a refusal into a crash: the counters and the log still tell.
      this.#log.warn({ err: (error as Error).message }, 'MCP refusal run not journaled');
      return undefined;
    }
  }

  #end(open: Window): void {
    if (this.#open !== open) return;
    this.#open = undefined;
    clearTimeout(open.timer);
    const by = Object.fromEntries(open.byCall);
    const summary = [...open.byCall].map(([call, n]) => `${call} ${n}`).join(', ');
    const reason = `${open.total} MCP call(s) from ${this.#actor()} refused by the gateway: ${summary}`;
    this.#log.warn({ actor: this.#actor(), refused: open.total, by }, 'MCP refusal window ended');
    const payload = { refused: open.total, by, noted: Math.min(open.total, MAX_NOTED) };
    this.#then(open, async (run) => {
      await run.note([{ kind: 'mcp.refused.total', payload }]);
      await run.end(reason);
    });
  }

  /** Runs `step` on the window's run after everything before it; a failed step is logged, never thrown. */
  #then(open: Window, step: (run: RefusalRun) => Promise<void>): void {
    open.chain = open.chain.then(async () => {
      const run = await open.run;
      if (!run) return;
      try {
        await step(run);
      } catch (error) {
        this.#log.warn({ run: run.runId, err: (error as Error).message }, 'MCP refusal not journaled');
      }
    });
  }
}
