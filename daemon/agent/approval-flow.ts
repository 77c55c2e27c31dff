import type { AgentRulesSettings } from '../config/index.ts';
import type { RunState } from '../contract/index.ts';
import type { NameScope } from '../names/index.ts';
import { APPROVER_RULE, approverRefusal, INJECTION_RULE, type Approver } from '../policy/index.ts';
import { ApprovalGate } from './approvals.ts';
import { AgentError } from './errors.ts';
import { parseIntent, type ParsedIntent } from './intents.ts';
import type { LiveRun } from './live-run.ts';
import type { LiveRuns } from './live-runs.ts';
import { TERMINAL, type RunRecord, type RunStore } from './run-store.ts';
import type { SkillDefinition } from './skills/index.ts';
import { sentTo } from './tool-invoker.ts';
import { errorText } from '../util/index.ts';

export interface ApprovalFlowOptions {
  store: RunStore;
  runs: LiveRuns;
  /** The skills a resumed run's intent is checked against: those of the config in force. */
  skills: Map<string, SkillDefinition>;
  /** The node names in its arguments resolve against. */
  names: NameScope;
  timeoutS: number;
  /** Who may approve what (agent.rules.approval), as in force now. */
  approvers: () => AgentRulesSettings['approval'];
}

/**
 * What a person decides about a run: approving the call a run paused on, or cancelling the run; and the
 * approval deadline that decides when nobody does. A run paused in this process resumes its waiting call
 * (`gate`); one that paused before a restart resumes from its events. Each decision that comes too late
 * (the run ended, another approval is being applied, the deadline passed) is a 409 `AgentError` naming why.
 * Runs found awaiting approval at start must be handed to `rearm`.
 */
export class ApprovalFlow {
  /** Where tool calls wait for a person. */
  readonly gate: ApprovalGate;
  #store: RunStore;
  #runs: LiveRuns;
  #skills: Map<string, SkillDefinition>;
  #names: NameScope;
  #timeoutS: number;
  #approvers: () => AgentRulesSettings['approval'];
  /** Approvals refused because of who asked for them (agent.rules.approval). */
  #refused = 0;
  /** Deadlines of runs that paused before a restart (a live waiter's deadline is the gate's). */
  #deadlines = new Map<string, NodeJS.Timeout>();
  /** Runs an approval is being applied to: a second approval meanwhile is a conflict, not a second resume. */
  #approving = new Set<string>();

  constructor(options: ApprovalFlowOptions) {
    const { store, runs, skills, names, timeoutS, approvers } = options;
    this.#approvers = approvers;
    this.#store = store;
    this.#runs = runs;
    this.#skills = skills;
    this.#names = names;
    this.#timeoutS = timeoutS;
    this.gate = new ApprovalGate({ timeoutS, onExpired: (id) => void this.#expire(id) });
  }

  /** A run found awaiting approval at start waits again, until the deadline in its event. */
  rearm(record: RunRecord): void {
    this.#deadlines.set(record.run.run_id, this.gate.arm(record.run.run_id, approvalDeadline(record)));
  }

  close(): void {
    this.gate.clearAll();
    for (const timer of this.#deadlines.values()) clearTimeout(timer);
  }

  /** Approvals refused for who asked (agent.rules.approval), since the agent started. */
  get refused(): number {
    return this.#refused;
  }

  /**
   * `approver.source` is the channel the approval came through (the operator's API, MCP, ...): whether it may
   * approve this run is agent.rules.approval's rule, and a refusal is a `policy.decision` in the run (it still waits).
   */
  async approve(runId: string, approver: Approver): Promise<RunState> {
    const { by } = approver;
    const record = this.#require(runId);
    if (record.run.status !== 'awaiting_approval')
      throw new AgentError('conflict', `run ${runId} is ${record.run.status}, not awaiting approval`);
    const refusal = approverRefusal(approver, record.intent, this.#approvers());
    if (refusal !== undefined) {
      this.#refused++;
      const decision = { hook: 'approval', rule: APPROVER_RULE, action: 'deny', reason: refusal, stage: 'approval' };
      const payload = { ...decision, by, source: approver.source };
      const live = this.#runs.get(runId);
      await (live
        ? live.event('policy.decision', payload)
        : this.#store.events(runId, [{ kind: 'policy.decision', payload }]));
      throw new AgentError('forbidden', `run ${runId} not approved: ${refusal}`);
    }
    // Marked before the first await: a second approval while this one is applied must not resume twice.
    if (this.#approving.has(runId)) throw new AgentError('conflict', `run ${runId} is already being approved`);
    this.#approving.add(runId);
    try {
      return await this.#approve(record, by);
    } finally {
      this.#approving.delete(runId);
      // The deadline passed while this approval was applied (#expire let it be) and it did not go through.
      if (record.run.status === 'awaiting_approval' && this.gate.overdue(runId, approvalDeadline(record)))
        void this.#expire(runId);
    }
  }

  async #approve(record: RunRecord, by: string): Promise<RunState> {
    const runId = record.run.run_id;
    const live = this.#runs.get(runId);
    const requested = record.events.findLast((e) => e.kind === 'approval.requested');
    const callId = String(requested?.payload.call_id ?? '');
    // Too late is too late, whether or not the deadline's timer has fired yet (a busy event loop, or a
    // daemon that was down at the deadline and has just started).
    if (this.gate.overdue(runId, approvalDeadline(record))) {
      await this.#expire(runId, true);
      throw new AgentError(
        'conflict',
        `run ${runId} is ${record.run.status}: its approval timed out after ${this.#timeoutS} s`,
      );
    }
    if (live && this.gate.waiting(runId)) {
      await live.event('approval.granted', { by, call_id: callId });
      const state = await live.status('running', undefined);
      if (live.closed) return this.#tooLate(live);
      this.gate.release(runId);
      return state;
    }
    // Nothing waits in this process: the run paused before a restart. Resume it from its events.
    clearTimeout(this.#deadlines.get(runId));
    this.#deadlines.delete(runId);
    this.gate.forget(runId);
    const resumed = this.#runs.get(runId) ?? this.#runs.track(record);
    // The config may have changed while the run waited (its skill removed, its arguments' schema changed):
    // then it cannot go on, and it ends saying why rather than stay `running` with nothing running it.
    let parsed: ParsedIntent;
    try {
      parsed = parseIntent(record.intent, record.intent.policy_ctx.source, this.#skills, this.#names);
    } catch (error) {
      const reason = `approved by ${by}, but the run cannot resume under the current config: ${errorText(error)}`;
      resumed.note('approval.granted', { by, call_id: callId });
      await resumed.finish('failed', reason);
      this.#untrackIdle(resumed);
      throw new AgentError('conflict', `run ${runId} ended: ${reason}`);
    }
    restore(resumed);
    resumed.approved.add(callId);
    await resumed.event('approval.granted', { by, call_id: callId });
    const state = await resumed.status('running');
    // Cancelled (or expired) while the approval was being journaled: it stays ended, nothing runs.
    if (resumed.closed) {
      this.#untrackIdle(resumed);
      return this.#tooLate(resumed);
    }
    this.#runs.run(resumed, parsed);
    return state;
  }

  /** An approval that lost to a cancel, a timeout or a quota: a conflict, told once the end is written. */
  async #tooLate(live: LiveRun): Promise<never> {
    await live.endError();
    throw new AgentError(
      'conflict',
      `run ${live.run.run_id} ended (${live.run.status}) before the approval could be applied: ${live.run.reason ?? 'no reason given'}`,
    );
  }

  async cancel(runId: string, by: string, reason?: string): Promise<RunState> {
    const record = this.#require(runId);
    if (TERMINAL.has(record.run.status))
      throw new AgentError('conflict', `run ${runId} already ended (${record.run.status})`);
    const live = this.#runs.get(runId) ?? this.#runs.track(record);
    if (live.closed) {
      // Its end is being written (the runner finished it, a quota or a timeout did): the cancel came too late.
      await live.endError();
      throw new AgentError('conflict', `run ${runId} already ended (${record.run.status})`);
    }
    clearTimeout(this.#deadlines.get(runId));
    this.#deadlines.delete(runId);
    this.gate.forget(runId);
    // Noted, not awaited: finish() marks the run ended at once, so no tool call can slip in (and act) while
    // the cancel is being written; the event goes to the journal just before the end.
    live.note('run.cancelled', { by, reason: reason ?? null });
    const state = await live.finish('cancelled', reason ? `cancelled by ${by}: ${reason}` : `cancelled by ${by}`);
    this.#untrackIdle(live);
    return state;
  }

  /** `approving`: called by the approval that found the deadline passed (not by a timer). */
  async #expire(runId: string, approving = false): Promise<void> {
    const record = this.#store.get(runId);
    if (!record || record.run.status !== 'awaiting_approval') return;
    // An approval that came in time is being applied: it decides (approve() expires the run if it fails).
    if (!approving && this.#approving.has(runId)) return;
    const requested = record.events.findLast((e) => e.kind === 'approval.requested');
    const deadline = approvalDeadline(record);
    // setTimeout caps at ~24.8 days: a longer deadline is re-armed until it is really due.
    if (!this.gate.overdue(runId, deadline)) {
      this.#deadlines.set(runId, this.gate.arm(runId, deadline));
      return;
    }
    this.#deadlines.delete(runId);
    this.gate.forget(runId);
    const live = this.#runs.get(runId) ?? this.#runs.track(record);
    live.note('approval.expired', { call_id: requested?.payload.call_id ?? null });
    await live.finish('failed', `approval timed out after ${this.#timeoutS} s`);
    this.#untrackIdle(live);
  }

  /** A run tracked only to end it (no runner holds it, e.g. after a restart) is dropped once it ended. */
  #untrackIdle(live: LiveRun): void {
    if (live.closed && !this.gate.waiting(live.run.run_id)) this.#runs.dropIdle(live);
  }

  #require(runId: string): RunRecord {
    const record = this.#store.get(runId);
    if (!record) throw new AgentError('not_found', `no run ${runId}`);
    return record;
  }
}

/** When a run waiting for approval stops waiting (ns since the epoch), from its `approval.requested` event. */
function approvalDeadline(record: RunRecord): bigint {
  const requested = record.events.findLast((e) => e.kind === 'approval.requested');
  return BigInt((requested?.payload.deadline as string | undefined) ?? '0');
}

/**
 * A resumed run's state, from its events: calls that ran, the call count, the time it acted, the tokens,
 * taint, the last goal.
 */
function restore(live: LiveRun): void {
  for (const e of live.record.events) {
    // Each pause records the time acted so far: the wall-time quota counts on from the last one. (A pause
    // journaled before acted_ms was recorded starts the count afresh.)
    if (e.kind === 'approval.requested' && typeof e.payload.acted_ms === 'number')
      live.restoreActed(e.payload.acted_ms);
    // Every call the run made has its tool.result, refused ones too (a denied or unknown tool), and each
    // counted toward the quota: count results, not tool.call events, which only calls that acted have.
    if (e.kind === 'tool.result') {
      live.callCount++;
      live.done.set(String(e.payload.call_id), (e.payload.screened ?? e.payload.result) as never);
      if (e.payload.tool === 'navigate_to')
        live.lastGoal = sentTo((e.payload.result as { output?: unknown }).output) ?? live.lastGoal;
    }
    if (e.kind === 'tool.call' && e.payload.tool === 'navigate_to')
      live.lastGoal = e.payload.input as { x: number; y: number };
    if (e.kind === 'policy.decision' && e.payload.rule === INJECTION_RULE) live.tainted = true;
    if (e.kind === 'approval.granted') live.approved.add(String(e.payload.call_id));
    if (e.kind === 'llm.message') {
      const usage = (e.payload.message as { usage?: { totalTokens?: number } }).usage;
      live.tokens += usage?.totalTokens ?? 0;
    }
  }
}
