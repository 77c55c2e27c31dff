import { AGENT_EVENT, RUN_STATE } from '../contract/index.ts';
import { newId } from '../util/index.ts';
import { AgentEventRecord, Intent, RunState, type AgentEvent, type RunStatus } from '../contract/index.ts';
import type { Journal, JournalEntry, JournalRecord } from '../contract/index.ts';
import { nowNs } from '../util/index.ts';
import { Validator } from '../util/index.ts';
import { appendMany } from '../journal/index.ts';
import { EventEntry, heldEntry } from './event-entries.ts';
import { isHaltEvent } from '../halt/index.ts';
import { agentEventsOf } from '../contract/index.ts';

/** Journal record kinds the agent writes (the contract's: the stop writes agent events too). */
export { AGENT_EVENT, RUN_STATE };

export const TERMINAL: ReadonlySet<RunStatus> = new Set(['succeeded', 'failed', 'cancelled', 'interrupted']);

/** A run as the store holds it: its state, the intent it runs and its events, oldest first. */
export interface RunRecord {
  run: RunState;
  intent: Intent;
  events: AgentEvent[];
}

/** Totals over every run and event in the journal, kept as records come (metrics never walk events). */
export interface RunCounters {
  byStatus: ReadonlyMap<RunStatus, number>;
  toolCalls: number;
  /** policy.decision events by rule. */
  decisions: ReadonlyMap<string, number>;
}

export interface RunStoreOptions {
  /**
   * How many finished runs stay in memory (the most recently finished); older ones are only in the journal
   * (and the lakehouse). Live runs always stay. Default: all, for one-off readers such as the CLI.
   */
  keepFinished?: number;
}

const runValidator = new Validator(RunState);
/** An agent_event record: one event, or one carrying those written with it (see AgentEventRecord). */
const eventValidator = new Validator(AgentEventRecord);
const intentValidator = new Validator(Intent);

/**
 * Runs and their events, durable in the journal. Every write is appended to the journal first and shows
 * in memory only once it is durable, so whatever a reader sees (API, CLI) survives a crash. At start the
 * store is rebuilt from the journal; that is the only place it reads.
 *
 * A run's intent is its first event (`intent.accepted`), so a run can be replayed from its events alone.
 *
 * Memory is bounded: runs still live stay, and of the finished ones only the `keepFinished` most recently
 * finished (a daemon runs for months; the journal keeps the rest). Counters for metrics are totals over the
 * whole journal, kept as records come, so a scrape costs the same whatever the robot's age.
 */
export class RunStore {
  #journal: Journal;
  #keepFinished: number;
  #runs = new Map<string, RunRecord>();
  #byIntent = new Map<string, string>();
  /** Finished runs in memory, oldest finish first: the first ones go when there are too many. */
  #finished = new Set<string>();
  #byStatus = new Map<RunStatus, number>();
  #toolCalls = 0;
  #decisions = new Map<string, number>();
  /** The seq of the first journal record of each live run: journal retention must keep everything after it. */
  #liveFirstSeq = new Map<string, number>();
  #warnings: string[] = [];

  constructor(journal: Journal, options: RunStoreOptions = {}) {
    const { keepFinished = Number.POSITIVE_INFINITY } = options;
    if (!(keepFinished >= 1)) throw new RangeError(`RunStore keepFinished must be at least 1, got ${keepFinished}`);
    this.#journal = journal;
    this.#keepFinished = keepFinished;
  }

  get counters(): RunCounters {
    return { byStatus: this.#byStatus, toolCalls: this.#toolCalls, decisions: this.#decisions };
  }

  /** Problems met while rebuilding (records that did not match the contract), for the log. */
  get warnings(): readonly string[] {
    return this.#warnings;
  }

  /** Reads the whole journal back. Call once, before any write. */
  rebuild(batch = 1000): void {
    const pendingEvents = new Map<string, AgentEvent[]>();
    for (let seq = 1; ;) {
      const records = this.#journal.read(seq, batch);
      if (records.length === 0) break;
      for (const record of records) this.#apply(record, pendingEvents);
      seq = records.at(-1)!.seq + 1;
    }
  }

  #apply(record: JournalRecord, pending: Map<string, AgentEvent[]>): void {
    // The operator's stop and release: events of no run, which would otherwise hold the journal for good.
    if (record.kind === AGENT_EVENT && isHaltEvent(record.data as { kind?: unknown })) return;
    const runId = (record.data as { run_id?: unknown } | null)?.run_id;
    if (typeof runId === 'string' && !this.#liveFirstSeq.has(runId) && !this.#runs.has(runId))
      this.#liveFirstSeq.set(runId, record.seq);
    if (record.kind === AGENT_EVENT) {
      if (!eventValidator.check(record.data))
        return void this.#warnings.push(`journal record ${record.seq}: not an AgentEvent, skipped`);
      const data = record.data;
      const existing = this.#runs.get(data.run_id);
      const events = existing?.events ?? pending.get(data.run_id) ?? [];
      if (!existing && events.length === 0) pending.set(data.run_id, events);
      // A tool call's record carries the events written with it (see AgentEventRecord); older ones hold one.
      for (const event of agentEventsOf(data)) {
        this.#count(event);
        events.push(event);
      }
    } else if (record.kind === RUN_STATE) {
      if (!runValidator.check(record.data))
        return void this.#warnings.push(`journal record ${record.seq}: not a RunState, skipped`);
      const run = record.data;
      const existing = this.#runs.get(run.run_id);
      if (existing) return void this.#setRun(existing, run);
      const events = pending.get(run.run_id) ?? [];
      pending.delete(run.run_id);
      const accepted = events.find((e) => e.kind === 'intent.accepted');
      const intent = accepted?.payload.intent;
      if (!intentValidator.check(intent))
        return void this.#warnings.push(
          `journal record ${record.seq}: run ${run.run_id} has no valid intent.accepted event, skipped`,
        );
      this.#add({ run, intent, events });
    }
  }

  #add(record: RunRecord): void {
    this.#runs.set(record.run.run_id, record);
    this.#byIntent.set(record.intent.intent_id, record.run.run_id);
    this.#byStatus.set(record.run.status, (this.#byStatus.get(record.run.status) ?? 0) + 1);
    this.#finishedIfTerminal(record.run);
  }

  /** Replaces a run's state: counters follow, and a run that just finished may push an older one out. */
  #setRun(record: RunRecord, run: RunState): void {
    const before = record.run.status;
    record.run = run;
    if (before === run.status) return;
    this.#byStatus.set(before, (this.#byStatus.get(before) ?? 1) - 1);
    this.#byStatus.set(run.status, (this.#byStatus.get(run.status) ?? 0) + 1);
    this.#finishedIfTerminal(run);
  }

  #finishedIfTerminal(run: RunState): void {
    if (!TERMINAL.has(run.status)) return void this.#finished.delete(run.run_id);
    this.#liveFirstSeq.delete(run.run_id);
    this.#finished.add(run.run_id);
    for (const oldest of this.#finished) {
      if (this.#finished.size <= this.#keepFinished) break;
      this.#finished.delete(oldest);
      const record = this.#runs.get(oldest);
      this.#runs.delete(oldest);
      if (record && this.#byIntent.get(record.intent.intent_id) === oldest)
        this.#byIntent.delete(record.intent.intent_id);
    }
  }

  #count(event: AgentEvent): void {
    if (event.kind === 'tool.call') this.#toolCalls++;
    else if (event.kind === 'policy.decision') {
      const rule = String(event.payload.rule);
      this.#decisions.set(rule, (this.#decisions.get(rule) ?? 0) + 1);
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

  /** The lowest journal seq a live run still needs (to be rebuilt after a restart), or undefined. */
  oldestLiveSeq(): number | undefined {
    let lowest: number | undefined;
    for (const seq of this.#liveFirstSeq.values()) if (lowest === undefined || seq < lowest) lowest = seq;
    return lowest;
  }

  /** Creates a pending run for an intent: its intent event, then its state, both durable on return. */
  async create(intent: Intent, treeRef: string): Promise<RunRecord> {
    const now = nsNow();
    const run: RunState = {
      run_id: newId(),
      intent_id: intent.intent_id,
      tree_ref: treeRef,
      status: 'pending',
      created_at: now,
      updated_at: now,
    };
    const accepted: AgentEvent = {
      event_id: newId(),
      run_id: run.run_id,
      kind: 'intent.accepted',
      payload: { intent },
      ts: now,
    };
    // Both in the same tick: one journal write. The journal keeps them in order.
    const [first] = await Promise.all([
      this.#journal.append(AGENT_EVENT, accepted),
      this.#journal.append(RUN_STATE, run),
    ]);
    this.#liveFirstSeq.set(run.run_id, first.seq);
    const record: RunRecord = { run, intent, events: [accepted] };
    this.#add(record);
    return record;
  }

  async transition(runId: string, status: RunStatus, reason?: string): Promise<RunState> {
    const record = this.#require(runId);
    const run: RunState = { ...record.run, status, updated_at: nsNow() };
    if (reason !== undefined) run.reason = reason;
    else delete run.reason;
    await this.#journal.append(RUN_STATE, run);
    this.#setRun(record, run);
    return run;
  }

  /**
   * Sets a run's state in memory only, for when writing it failed (the journal is broken): readers in this
   * process see the truth instead of a run `running` forever. The journal still holds the last state it
   * took, so after a restart the run comes back from that one (`interrupted` if it was running).
   */
  setUndurable(runId: string, status: RunStatus, reason: string): RunState {
    const record = this.#require(runId);
    const run: RunState = { ...record.run, status, reason, updated_at: nsNow() };
    this.#setRun(record, run);
    return run;
  }

  event(runId: string, kind: string, payload: Record<string, unknown>): Promise<AgentEvent> {
    return this.events(runId, [{ kind, payload }]).then(firstOf);
  }

  /**
   * Appends events of one run, in order, in one journal write (a tool call's records go together); they
   * show in the run once all are durable. `oneRecord`: several events go as one journal record, the last
   * carrying the others in `noted` (see AgentEventRecord), all with one ts; an agent run's tool call writes
   * its events so (one record a call instead of three). Events whose JSON is large together, or that have
   * none, go one record each as without it.
   */
  events(
    runId: string,
    items: readonly { kind: string; payload: Record<string, unknown> }[],
    oneRecord = false,
  ): Promise<AgentEvent[]> {
    const record = this.#runs.get(runId);
    if (!record) return Promise.reject(new Error(`no run ${runId}`));
    if (oneRecord && items.length > 1) return this.#eventsInOne(record, runId, items);
    const events: AgentEvent[] = [];
    const entries: JournalEntry[] = [];
    for (let i = 0; i < items.length; i++) {
      const event: AgentEvent = {
        event_id: newId(),
        run_id: runId,
        kind: items[i]!.kind,
        payload: items[i]!.payload,
        ts: nsNow(),
      };
      events.push(event);
      entries.push(new EventEntry(event));
    }
    // A reaction on the append, not an async function: this runs for every tool call.
    return appendMany(this.#journal, entries).then(() => this.#shown(record, events));
  }

  #eventsInOne(
    record: RunRecord,
    runId: string,
    items: readonly { kind: string; payload: Record<string, unknown> }[],
  ): Promise<AgentEvent[]> {
    const ts = nsNow();
    const events: AgentEvent[] = [];
    for (let i = 0; i < items.length; i++)
      events.push({ event_id: newId(), run_id: runId, kind: items[i]!.kind, payload: items[i]!.payload, ts });
    const held = heldEntry(events);
    const entries: JournalEntry[] = held ? [held] : events.map((event) => new EventEntry(event));
    return appendMany(this.#journal, entries).then(() => this.#shown(record, events));
  }

  /** An event is durable: it shows in its run and counts. */
  #shown(record: RunRecord, events: AgentEvent[]): AgentEvent[] {
    for (let i = 0; i < events.length; i++) {
      record.events.push(events[i]!);
      this.#count(events[i]!);
    }
    return events;
  }

  #require(runId: string): RunRecord {
    const record = this.#runs.get(runId);
    if (!record) throw new Error(`no run ${runId}`);
    return record;
  }
}

/** The run's calls that have a `tool.call` event and no `tool.result`: those cut off mid-act. */
export function unansweredCalls(record: RunRecord): { call_id: string; tool: string }[] {
  const open = new Map<string, string>();
  for (const e of record.events) {
    if (e.kind === 'tool.call') open.set(String(e.payload.call_id), String(e.payload.tool));
    else if (e.kind === 'tool.result') open.delete(String(e.payload.call_id));
  }
  return [...open].map(([call_id, tool]) => ({ call_id, tool }));
}

function firstOf(events: AgentEvent[]): AgentEvent {
  return events[0]!;
}

function nsNow(): string {
  return nowNs().toString();
}
