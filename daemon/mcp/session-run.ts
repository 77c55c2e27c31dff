import type { Logger } from 'pino';
import type { ExternalRun, ExternalRuns } from '../contract/index.ts';
import { newId, nowNs, errorText } from '../util/index.ts';

/** The refused calls journaled one by one in a window; the rest are counted, by tool and reason, in its summary. */
export const MAX_NOTED = 10;
/** A call's output is journaled when its JSON is at most this long; a longer one (query rows) only by its size. */
const MAX_OUTPUT_CHARS = 1024;
/** A call's input past this much JSON (a query's SQL may be 100 000 chars) is journaled as its start. */
const MAX_INPUT_CHARS = 4096;

/** Why the gateway refused a call before any intent: the client's rate, all clients', or a tool it does not expose. */
export type RefusalReason = 'rate' | 'rate_total' | 'unexposed';

interface Window {
  /** The run, once the agent made it; undefined when no agent is running (then only the log and counters). */
  run: Promise<ExternalRun | undefined>;
  /** Events and the end, in order, after the run is made. */
  chain: Promise<void>;
  /** The run's reason until the window ends. */
  until: string;
  /** Calls by `tool` (done) or `tool:reason` (refused). */
  byCall: Map<string, number>;
  calls: number;
  refused: number;
  timer: NodeJS.Timeout;
}

/**
 * What one MCP session did that no run of its own records, as runs: its calls of tools that only read or
 * answer through the API (graph, query, runs, approve, the stop), and its calls refused before any intent (past
 * its rate or all clients', to a tool not exposed). The first such call opens a run (intent `mcp_session`, actor
 * `mcp:<client>`). Every answered call is a `tool.call` and `tool.result` event: the client's rate bounds them
 * (max_calls_per_minute; only the stop passes it, and each stop journals its own record anyway). Refused calls
 * are `mcp.refused` events up to MAX_NOTED a window, then counted: a flood costs the journal MAX_NOTED records,
 * whatever its size. `windowMs` later, or when the session closes, an `mcp.session.total` event counts every call
 * by tool (`tool:reason` for refusals), and the run ends succeeded, or failed when calls were refused, with the
 * count as its reason; the log gets a line when refusals begin and one when the window ends.
 */
export class SessionRun {
  #runs: () => ExternalRuns | undefined;
  #actor: () => string;
  #windowMs: number;
  #log: Logger;
  #open: Window | undefined;

  constructor({
    runs,
    actor,
    windowMs,
    log,
  }: {
    runs: () => ExternalRuns | undefined;
    actor: () => string;
    windowMs: number;
    log: Logger;
  }) {
    this.#runs = runs;
    this.#actor = actor;
    this.#windowMs = windowMs;
    this.#log = log;
  }

  /** A call the gateway answered through the API: what was asked, and the result or the error. */
  called(tool: string, input: unknown, result: { ok: true; output: unknown } | { ok: false; error: string }): void {
    const open = this.#window();
    open.calls++;
    this.#count(open, tool);
    const callId = newId();
    const recorded = result.ok ? { ok: true, output: brief(result.output) } : result;
    this.#then(open, (run) =>
      run.note([
        { kind: 'tool.call', payload: { call_id: callId, tool, input: cut(input) } },
        { kind: 'tool.result', payload: { call_id: callId, tool, result: recorded } },
      ]),
    );
  }

  /** A refused call: `message` is what the client was answered. */
  refused(tool: string, reason: RefusalReason, message: string): void {
    const open = this.#window();
    if (open.refused === 0) {
      this.#log.warn({ actor: this.#actor(), tool, reason }, 'MCP calls refused');
      // Failed from the first refusal, not from the window's end: a person looking at `runs` now sees it.
      this.#then(open, (run) => run.end('failed', open.until));
    }
    open.refused++;
    this.#count(open, `${tool}:${reason}`);
    if (open.refused > MAX_NOTED) return;
    const payload = { tool, reason, message, n: open.refused };
    this.#then(open, (run) => run.note([{ kind: 'mcp.refused', payload }]));
  }

  /** Ends the open window now (the session closed); resolves once its run is ended. */
  close(): Promise<void> {
    const open = this.#open;
    if (!open) return Promise.resolve();
    this.#end(open);
    return open.chain;
  }

  #count(open: Window, key: string): void {
    open.byCall.set(key, (open.byCall.get(key) ?? 0) + 1);
  }

  #window(): Window {
    if (this.#open) return this.#open;
    const actor = this.#actor();
    const intent = {
      intent_id: newId(),
      type: 'mcp_session',
      params: { window_s: this.#windowMs / 1000 },
      policy_ctx: { actor, source: 'mcp' as const },
      targets: [],
      created_at: nowNs().toString(),
    };
    const until = `calls of ${actor} through MCP, counted when the window ends (${this.#windowMs / 1000} s)`;
    const run = this.#openRun(intent, until);
    const timer = setTimeout(() => this.#end(open), this.#windowMs).unref();
    const open: Window = {
      run,
      chain: run.then(() => undefined),
      until,
      byCall: new Map(),
      calls: 0,
      refused: 0,
      timer,
    };
    this.#open = open;
    return open;
  }

  async #openRun(intent: Parameters<ExternalRuns['openExternalRun']>[0], until: string) {
    try {
      return await this.#runs()?.openExternalRun(intent, 'mcp:session', 'succeeded', until);
    } catch (error) {
      // A journal that refuses the run must not fail the call: the counters and the log still tell.
      this.#log.warn({ err: errorText(error) }, 'MCP session run not journaled');
      return undefined;
    }
  }

  #end(open: Window): void {
    if (this.#open !== open) return;
    this.#open = undefined;
    clearTimeout(open.timer);
    const by = Object.fromEntries(open.byCall);
    const summary = [...open.byCall].map(([call, n]) => `${call} ${n}`).join(', ');
    const what = open.refused > 0 ? `${open.refused} refused, ${open.calls} answered` : `${open.calls} answered`;
    const reason = `MCP calls from ${this.#actor()}: ${what} (${summary})`;
    if (open.refused > 0) this.#log.warn({ actor: this.#actor(), refused: open.refused, by }, 'MCP refusals counted');
    const payload = { calls: open.calls, refused: open.refused, by, noted_refused: Math.min(open.refused, MAX_NOTED) };
    this.#then(open, async (run) => {
      await run.note([{ kind: 'mcp.session.total', payload }]);
      await run.end(open.refused > 0 ? 'failed' : 'succeeded', reason);
    });
  }

  /** Runs `step` on the window's run after everything before it; a failed step is logged, never thrown. */
  #then(open: Window, step: (run: ExternalRun) => Promise<void>): void {
    open.chain = open.chain.then(async () => {
      const run = await open.run;
      if (!run) return;
      try {
        await step(run);
      } catch (error) {
        this.#log.warn({ run: run.runId, err: errorText(error) }, 'MCP call not journaled');
      }
    });
  }
}

/** A call's input as journaled: itself, or the start of its JSON and its length when long. */
function cut(input: unknown): unknown {
  const json = JSON.stringify(input) ?? 'null';
  if (json.length <= MAX_INPUT_CHARS) return input;
  return { json_start: json.slice(0, MAX_INPUT_CHARS), json_chars: json.length };
}

/** A call's output as journaled: itself when small, else only its size (a query's rows stay in the lakehouse). */
function brief(output: unknown): unknown {
  const json = JSON.stringify(output) ?? 'null';
  return json.length <= MAX_OUTPUT_CHARS ? output : { not_journaled: `${json.length} chars of JSON` };
}
