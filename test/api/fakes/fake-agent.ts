import type { AgentService, Journal, SubmittedIntent } from '../../../daemon/contract/services.ts';
import { newId } from '../../../daemon/util/ids.ts';
import { type AgentEvent, Intent, type RunState, type RunStatus } from '../../../daemon/contract/schemas.ts';
import { nowNs } from '../../../daemon/util/time.ts';
import { Validator } from '../../../daemon/util/validate.ts';
import type { Component, ComponentHealth } from '../../../daemon/lifecycle/component.ts';

const intents = new Validator(Intent);
const TERMINAL: ReadonlySet<RunStatus> = new Set(['succeeded', 'failed', 'cancelled', 'interrupted']);

/**
 * TEST ONLY. A stand-in for the edge agent (component `agent`) with AgentService's contract: it validates
 * intents, journals every run state and event, holds runs whose policy context requires approval in
 * `awaiting_approval`, and on approval resumes the run (running, then succeeded after `workMs`).
 */
export class FakeAgent implements Component, AgentService {
  readonly name = 'agent';
  #journal: Journal;
  #workMs: number;
  #runs = new Map<string, { run: RunState; events: AgentEvent[] }>();
  #timers = new Set<NodeJS.Timeout>();
  readonly calls: { method: string; args: unknown[] }[] = [];

  constructor(options: { journal: Journal; workMs?: number }) {
    this.#journal = options.journal;
    this.#workMs = options.workMs ?? 50;
  }

  async start(): Promise<void> {}
  async close(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
  }
  health(): ComponentHealth {
    return { state: 'running', details: { runs: this.#runs.size } };
  }

  async submitIntent(value: unknown, source: Parameters<AgentService['submitIntent']>[1]): Promise<RunState> {
    this.calls.push({ method: 'submitIntent', args: [value, source] });
    const intent = intents.parse(value, 'intent');
    const now = nowNs().toString();
    const run: RunState = {
      run_id: newId(),
      intent_id: intent.intent_id,
      tree_ref: intent.type,
      status: 'pending',
      created_at: now,
      updated_at: now,
    };
    this.#runs.set(run.run_id, { run, events: [] });
    await this.#event(run.run_id, 'run.created', { intent, source });
    if (intent.policy_ctx.requires_approval)
      await this.#status(run.run_id, 'awaiting_approval', 'the intent requires approval');
    else await this.#resume(run.run_id);
    return this.#runs.get(run.run_id)!.run;
  }

  async submit(value: unknown, source: Parameters<AgentService['submitIntent']>[1]): Promise<SubmittedIntent> {
    return { run: await this.submitIntent(value, source), replayed: false };
  }

  listRuns(filter: { status?: RunStatus; limit?: number } = {}): RunState[] {
    const runs = [...this.#runs.values()].map((r) => r.run).filter((r) => !filter.status || r.status === filter.status);
    return runs.reverse().slice(0, filter.limit ?? runs.length);
  }

  getRun(runId: string): { run: RunState; events: AgentEvent[] } | undefined {
    const found = this.#runs.get(runId);
    return found ? { run: found.run, events: [...found.events] } : undefined;
  }

  async approve(runId: string, by: string): Promise<RunState> {
    this.calls.push({ method: 'approve', args: [runId, by] });
    await this.#event(runId, 'run.approved', { by });
    await this.#resume(runId);
    return this.#runs.get(runId)!.run;
  }

  async cancel(runId: string, by: string, reason?: string): Promise<RunState> {
    this.calls.push({ method: 'cancel', args: [runId, by, reason] });
    return this.#status(runId, 'cancelled', reason ?? `cancelled by ${by}`);
  }

  haltMotion(reason: string): void {
    this.calls.push({ method: 'haltMotion', args: [reason] });
  }

  async #resume(runId: string): Promise<void> {
    await this.#status(runId, 'running');
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      const run = this.#runs.get(runId)?.run;
      if (run && !TERMINAL.has(run.status)) void this.#status(runId, 'succeeded', 'done');
    }, this.#workMs);
    this.#timers.add(timer);
  }

  async #status(runId: string, status: RunStatus, reason?: string): Promise<RunState> {
    const entry = this.#runs.get(runId)!;
    entry.run = { ...entry.run, status, ...(reason ? { reason } : {}), updated_at: nowNs().toString() };
    await this.#journal.append('run_state', entry.run);
    await this.#event(runId, 'run.status', { status, ...(reason ? { reason } : {}) });
    return entry.run;
  }

  /**
   * One journal record as a tool call of the real agent writes it: the event `kind` carrying in `noted` the events
   * noted before it (the previous result, the model's message), which share its run and time.
   */
  async carried(
    runId: string,
    noted: { kind: string; payload: Record<string, unknown> }[],
    kind: string,
    payload: Record<string, unknown>,
  ): Promise<void> {
    const ts = nowNs().toString();
    const carried = noted.map((n) => ({ event_id: newId(), ...n }));
    const event: AgentEvent = { event_id: newId(), run_id: runId, kind, payload, ts };
    this.#runs.get(runId)!.events.push(...carried.map((n) => ({ ...n, run_id: runId, ts })), event);
    await this.#journal.append('agent_event', { ...event, noted: carried });
  }

  async #event(runId: string, kind: string, payload: Record<string, unknown>): Promise<void> {
    const event: AgentEvent = { event_id: newId(), run_id: runId, kind, payload, ts: nowNs().toString() };
    this.#runs.get(runId)!.events.push(event);
    await this.#journal.append('agent_event', event);
  }
}
