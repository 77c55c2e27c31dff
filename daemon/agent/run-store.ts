import { newId } from '../contract/ids.ts';
import { AgentEvent, Intent, RunState, type RunStatus } from '../contract/schemas.ts';
import type { Journal, JournalRecord } from '../contract/services.ts';
import { nowNs } from '../contract/time.ts';
import { Validator } from '../contract/validate.ts';

/** Journal record kinds the agent writes. */
export const RUN_STATE = 'run_state';
export const AGENT_EVENT = 'agent_event';

export const TERMINAL: ReadonlySet<RunStatus> = new Set(['succeeded', 'failed', 'cancelled', 'interrupted']);

/** A run as the store holds it: its state, the intent it runs and its events, oldest first. */
export interface RunRecord {
  run: RunState;
  intent: Intent;
  events: AgentEvent[];
}

const runValidator = new Validator(RunState);
const eventValidator = new Validator(AgentEvent);
const intentValidator = new Validator(Intent);

/**
 * Runs and their events, durable in the journal. Every write is appended to the journal first and shows
 * in memory only once it is durable, so whatever a reader sees (API, CLI) survives a crash. At start the
 * store is rebuilt from the journal; that is the only place it reads.
 *
 * A run's intent is its first event (`intent.accepted`), so a run can be replayed from its events alone.
 */
export class RunStore {
  #journal: Journal;
  #runs = new Map<string, RunRecord>();
  #byIntent = new Map<string, string>();
  #warnings: string[] = [];

  constructor(journal: Journal) {
    this.#journal = journal;
  }

  /** Problems met while rebuilding (records that did not match the contract), for the log. */
  get warnings(): readonly string[] {
    return this.#warnings;
  }

  /** Reads the whole journal back. Call once, before any write. */
  rebuild(batch = 1000): void {
    const pendingEvents = new Map<string, AgentEvent[]>();
    for (let seq = 1; ; ) {
      const records = this.#journal.read(seq, batch);
      if (records.length === 0) break;
      for (const record of records) this.#apply(record, pendingEvents);
      seq = records.at(-1)!.seq + 1;
    }
  }

  #apply(record: JournalRecord, pending: Map<string, AgentEvent[]>): void {
    if (record.kind === AGENT_EVENT) {
      if (!eventValidator.check(record.data)) return void this.#warnings.push(`journal record ${record.seq}: not an AgentEvent, skipped`);
      const event = record.data;
      const existing = this.#runs.get(event.run_id);
      if (existing) existing.events.push(event);
      else pending.set(event.run_id, [...(pending.get(event.run_id) ?? []), event]);
    } else if (record.kind === RUN_STATE) {
      if (!runValidator.check(record.data)) return void this.#warnings.push(`journal record ${record.seq}: not a RunState, skipped`);
      const run = record.data;
      const existing = this.#runs.get(run.run_id);
      if (existing) {
        existing.run = run;
        return;
      }
      const events = pending.get(run.run_id) ?? [];
      pending.delete(run.run_id);
      const accepted = events.find((e) => e.kind === 'intent.accepted');
      const intent = accepted?.payload.intent;
      if (!intentValidator.check(intent)) return void this.#warnings.push(`journal record ${record.seq}: run ${run.run_id} has no valid intent.accepted event, skipped`);
      this.#runs.set(run.run_id, { run, intent, events });
      this.#byIntent.set(intent.intent_id, run.run_id);
    }
  }

  get(runId: string): RunRecord | undefined {
    return this.#runs.get(runId);
  }

  byIntent(intentId: string): RunRecord | undefined {
    const runId = this.#byIntent.get(intentId);
    return runId === undefined ? undefined : this.#runs.get(runId);
  }

  /** Newest first. */
  list(filter: { status?: RunStatus; limit?: number } = {}): RunState[] {
    const { status, limit = 100 } = filter;
    const out: RunState[] = [];
    const all = [...this.#runs.values()];
    for (let i = all.length - 1; i >= 0 && out.length < limit; i--) {
      const run = all[i]!.run;
      if (status === undefined || run.status === status) out.push(run);
    }
    return out;
  }

  all(): IterableIterator<RunRecord> {
    return this.#runs.values();
  }

  /** Creates a pending run for an intent: its intent event, then its state, both durable on return. */
  async create(intent: Intent, treeRef: string): Promise<RunRecord> {
    const now = nsNow();
    const run: RunState = { run_id: newId(), intent_id: intent.intent_id, tree_ref: treeRef, status: 'pending', created_at: now, updated_at: now };
    const accepted: AgentEvent = { event_id: newId(), run_id: run.run_id, kind: 'intent.accepted', payload: { intent }, ts: now };
    // Both in the same tick: one journal write. The journal keeps them in order.
    await Promise.all([this.#journal.append(AGENT_EVENT, accepted), this.#journal.append(RUN_STATE, run)]);
    const record: RunRecord = { run, intent, events: [accepted] };
    this.#runs.set(run.run_id, record);
    this.#byIntent.set(intent.intent_id, run.run_id);
    return record;
  }

  async transition(runId: string, status: RunStatus, reason?: string): Promise<RunState> {
    const record = this.#require(runId);
    const run: RunState = { ...record.run, status, updated_at: nsNow() };
    if (reason !== undefined) run.reason = reason;
    else delete run.reason;
    await this.#journal.append(RUN_STATE, run);
    record.run = run;
    return run;
  }

  async event(runId: string, kind: string, payload: Record<string, unknown>): Promise<AgentEvent> {
    const record = this.#require(runId);
    const event: AgentEvent = { event_id: newId(), run_id: runId, kind, payload, ts: nsNow() };
    await this.#journal.append(AGENT_EVENT, event);
    record.events.push(event);
    return event;
  }

  #require(runId: string): RunRecord {
    const record = this.#runs.get(runId);
    if (!record) throw new Error(`no run ${runId}`);
    return record;
  }
}

function nsNow(): string {
  return nowNs().toString();
}
