import type { AgentRulesSettings, SkillName } from '../config/index.ts';
import type { ChainOutcome, PolicyHook, ToolCallContext } from '../contract/index.ts';
import type { ToolResult } from '../contract/index.ts';
import { formatIssue, type ValidationIssue } from '../util/index.ts';
import { resolveNames } from '../names/index.ts';
import { approvalRequirement } from '../policy/index.ts';
import { hooksWith } from '../policy/index.ts';
import { runPolicyChain } from '../policy/index.ts';
import { INJECTION_RULE } from '../policy/index.ts';
import { clipText, errorText } from '../util/index.ts';
import { TOOL_CALL_QUOTA_HOOK, TOOL_CALL_QUOTA_RULE, toolCallOverQuota } from '../policy/index.ts';
import type { ApprovalGate } from './approvals.ts';
import type { LiveRun } from './live-run.ts';
import { MotionRefused, type MotionLock } from './motion-lock.ts';
import { frameDecisions, type SkillDefinition, type SkillEnv } from './skills/index.ts';

/**
 * What `before` decides: run the call with this input, or refuse it and say why. `quota` marks a call past
 * the run's tool-call quota: the run ends there rather than let the model go on calling.
 */
export type Verdict = { ok: true; input: unknown } | { ok: false; reason: string; quota?: string };

/** The rule a call breaks when a topic or action it names is not a valid ROS 2 name. */
export const NAME_RULE = 'name.invalid';

export interface ToolInvokerOptions {
  hooks: readonly PolicyHook[];
  skills: ReadonlyMap<string, SkillDefinition>;
  env: SkillEnv;
  approvals: ApprovalGate;
  requireApproval: ReadonlySet<SkillName>;
  onSuspect: AgentRulesSettings['injection']['on_suspect'];
}

/**
 * Runs tool calls inside their frames, the same way for a model's call and for a deterministic intent:
 * the policy chain before (deny, or rewrite the input), an approval gate when a rule asks for one, the
 * skill, then the chain after (screening the result). Every fired rule is a `policy.decision` event, and
 * each call and result is an event. A call is durable (`tool.call`, with the events noted before it) before
 * the skill acts, but for `stop`, which acts first (see SkillDefinition.actsFirst); decisions and results
 * are noted and go to the journal with the run's next write.
 */
export class ToolInvoker {
  readonly #requireApproval: ReadonlySet<SkillName>;
  /** Replaced by setPolicy. */
  #onSuspect: ToolInvokerOptions['onSuspect'];
  readonly #approvals: ApprovalGate;
  readonly #skills: ReadonlyMap<string, SkillDefinition>;
  readonly #env: SkillEnv;
  #before: PolicyHook[];
  #after: PolicyHook[];
  /** Bumped by every setPolicy: a call that waited for a person meanwhile passes the new chain too. */
  #generation = 0;

  constructor(options: ToolInvokerOptions) {
    const { requireApproval, onSuspect, approvals, skills, env } = options;
    this.#requireApproval = requireApproval;
    this.#onSuspect = onSuspect;
    this.#approvals = approvals;
    this.#skills = skills;
    this.#env = env;
    this.#before = hooksWith(options.hooks, 'beforeToolCall');
    this.#after = hooksWith(options.hooks, 'afterToolCall');
  }

  /** A new policy chain (a config reload) for every call from now on, runs in progress included. */
  setPolicy(hooks: readonly PolicyHook[], onSuspect: ToolInvokerOptions['onSuspect']): void {
    this.#onSuspect = onSuspect;
    this.#before = hooksWith(hooks, 'beforeToolCall');
    this.#after = hooksWith(hooks, 'afterToolCall');
    this.#generation++;
  }

  /**
   * Before a call: the input to run with, or why it must not run. May wait for approval. Answers at once
   * (no promise) when no hook and no approval makes it wait, as for nearly every call.
   */
  before(live: LiveRun, tool: string, input: unknown, callId: string): Verdict | Promise<Verdict> {
    // A call that ran before a restart is replayed as it was; it has passed its frames already.
    if (live.done.has(callId)) return { ok: true, input };
    live.callCount++;
    // The hooks compare names as strings: they see each topic and action fully qualified, or the call is
    // refused here with the ROS 2 rule its name breaks (`/cmd_vel/` must not pass as a topic of its own).
    const skill = this.#skills.get(tool);
    if (skill) {
      const named = resolveNames(skill.parameters, input, this.#env.names);
      if (named.issues.length > 0) return this.#refuseNames(live, tool, callId, named.issues);
      input = named.value;
    }
    const ctx: ToolCallContext = { run: live.run, intent: live.intent, tool, callIndex: live.callCount };
    const chain = runPolicyChain(this.#before, input, (hook, value) => hook.beforeToolCall!(ctx, value));
    return chain instanceof Promise
      ? chain.then((outcome) => this.#decide(live, tool, input, callId, outcome))
      : this.#decide(live, tool, input, callId, chain);
  }

  #decide(
    live: LiveRun,
    tool: string,
    input: unknown,
    callId: string,
    outcome: ChainOutcome<unknown>,
  ): Verdict | Promise<Verdict> {
    this.#record(live, outcome, 'before', tool, callId);
    if (!outcome.allowed) {
      const refused = this.#refuse(live, tool, callId, `refused by policy: ${outcome.reason}`);
      return outcome.fired.some((f) => f.rule === TOOL_CALL_QUOTA_RULE)
        ? { ...refused, quota: outcome.reason }
        : refused;
    }
    if (!live.approved.has(callId)) {
      const need = approvalRequirement({
        tool,
        intent: live.intent,
        requireApproval: this.#requireApproval,
        tainted: live.tainted,
        onSuspect: this.#onSuspect,
      });
      if (need) return this.#approve(live, tool, input, callId, outcome.value, need);
    }
    live.rewritten.set(callId, outcome.value);
    return { ok: true, input: outcome.value };
  }

  /** `asked`: the input as the call asked it; `allowed`: as the chain left it, what the person is shown. */
  async #approve(
    live: LiveRun,
    tool: string,
    asked: unknown,
    callId: string,
    allowed: unknown,
    need: { rule: string; reason: string },
  ): Promise<Verdict> {
    const generation = this.#generation;
    const result = await this.#approvals.wait(live, { callId, tool, input: allowed, ...need });
    if (result !== 'approved')
      return this.#refuse(live, tool, callId, `not approved: ${live.run.reason ?? 'the run ended'}`);
    let input = allowed;
    if (generation !== this.#generation) {
      // The policy was reloaded while the call waited (maybe for hours): it runs under the policy in force
      // now, as it would after a restart, so a skill, topic or goal denied meanwhile is not acted on.
      const ctx: ToolCallContext = { run: live.run, intent: live.intent, tool, callIndex: live.callCount };
      const chain = runPolicyChain(this.#before, asked, (hook, value) => hook.beforeToolCall!(ctx, value));
      const outcome = chain instanceof Promise ? await chain : chain;
      this.#record(live, outcome, 'before', tool, callId);
      if (!outcome.allowed) return this.#refuse(live, tool, callId, `refused by policy: ${outcome.reason}`);
      input = outcome.value;
    }
    live.rewritten.set(callId, input);
    return { ok: true, input };
  }

  /**
   * A call pi answered itself (`told`, what the model read) without passing the hooks: a tool the agent
   * does not have (`tool.unknown`), or arguments that do not match the skill's schema (`tool.arguments`).
   * It is counted like any call, so a model that keeps making such calls meets the quota, and journaled
   * like any refused call. Returns the run's end reason when this call is past it.
   */
  refuseAnsweredByPi(live: LiveRun, tool: string, callId: string, told: string): string | undefined {
    if (live.done.has(callId)) return undefined;
    live.callCount++;
    const unknown = !this.#skills.has(tool);
    const reason = unknown
      ? `unknown tool ${tool}: the agent's tools are ${[...this.#skills.keys()].join(', ') || '(none)'}`
      : `the arguments of ${tool} do not match its parameters: ${clipText(told, 300)}`;
    live.note('policy.decision', {
      hook: 'tools',
      rule: unknown ? 'tool.unknown' : 'tool.arguments',
      action: 'deny',
      reason,
      stage: 'before',
      tool,
      call_id: callId,
    });
    this.#refuse(live, tool, callId, told);
    const over = toolCallOverQuota(live.callCount, live.quotas.maxToolCalls);
    if (!over) return undefined;
    live.note('policy.decision', {
      hook: TOOL_CALL_QUOTA_HOOK,
      rule: TOOL_CALL_QUOTA_RULE,
      action: 'deny',
      reason: over,
      stage: 'before',
      tool,
      call_id: callId,
    });
    return `${TOOL_CALL_QUOTA_RULE}: ${over}`;
  }

  #refuseNames(live: LiveRun, tool: string, callId: string, issues: readonly ValidationIssue[]): Verdict {
    const reason = `not a ROS 2 name: ${issues.map(formatIssue).join('; ')}`;
    live.note('policy.decision', {
      hook: 'names',
      rule: NAME_RULE,
      action: 'deny',
      reason,
      stage: 'before',
      tool,
      call_id: callId,
    });
    return this.#refuse(live, tool, callId, `refused: ${reason}`);
  }

  /** A refused call still gets its result event: it is what the model was told, and a resumed run replays it. */
  #refuse(live: LiveRun, tool: string, callId: string, reason: string): { ok: false; reason: string } {
    live.note('tool.result', { call_id: callId, tool, result: { ok: false, error: reason }, refused: true });
    return { ok: false, reason };
  }

  /**
   * Runs the skill. A failure is a `{ok: false}` result the model can read; it throws only when the journal
   * refuses the call. The call is durable (`tool.call`) before the skill acts; its result is recorded by
   * `after`, or, when the run ends while the skill acts (a cancel, a quota, the daemon stopping), by the
   * run's end (see LiveRun.openCall). A cancellable skill is given the run's signal (not pi's: pi's is
   * aborted only when the run ends, and without the reason, which the skill reports: `cancelled by ada`).
   */
  async execute(live: LiveRun, tool: string, input: unknown, callId: string): Promise<ToolResult> {
    const replayed = live.done.get(callId);
    if (replayed) return replayed;
    const skill = this.#skills.get(tool);
    if (!skill) return { ok: false, error: `no skill ${tool}` };
    if (live.closed) return ended(live, tool);
    live.openCall(callId, tool);
    try {
      const result = await this.#act(live, skill, input, callId);
      live.settleCall(callId, result);
      return result;
    } catch (error) {
      // The tool.call could not be journaled: the skill did not act (or, acting first, acted unrecorded).
      // The run fails on the error.
      const what = skill.actsFirst
        ? `${tool} acted, but its call could not be journaled`
        : `${tool} did not act: its call could not be journaled`;
      live.settleCall(callId, { ok: false, error: `${what}: ${errorText(error)}` });
      throw error;
    }
  }

  // Not async itself: returning one async function's promise from another costs extra ticks every call.
  #act(live: LiveRun, skill: SkillDefinition, input: unknown, callId: string): Promise<ToolResult> {
    return skill.actsFirst ? this.#actFirst(live, skill, input, callId) : this.#actAfter(live, skill, input, callId);
  }

  async #actAfter(live: LiveRun, skill: SkillDefinition, input: unknown, callId: string): Promise<ToolResult> {
    const tool = skill.name;
    await live.event('tool.call', { call_id: callId, tool, input });
    // The run ended while its call was being journaled (a cancel racing an approval, the daemon stopping):
    // a skill never acts for a run that is over, nor without its tool.call in the journal.
    if (live.closed) return ended(live, tool);
    if (tool === 'navigate_to') live.lastGoal = input as { x: number; y: number };
    live.started.set(callId, performance.now());
    const signal = skill.motion || skill.cancellable ? live.signal : NEVER_ABORTED;
    let lock: ReturnType<MotionLock['acquire']> | undefined;
    try {
      lock = skill.motion ? this.#env.motion.acquire(tool, signal, live.run.run_id) : undefined;
    } catch (error) {
      if (!(error instanceof MotionRefused)) throw error;
      return { ok: false, error: error.message }; // a latched stop: the skill does not act
    }
    // The run ends while this skill moves the robot, and nothing took the robot over since: a zero Twist
    // through the gate, whatever the skill does when it is stopped (or if it does not stop). A frame: the
    // robot's stop is not left to a skill.
    const offEnd = lock ? live.onEnd(() => lock.held() && this.#env.gate.halt()) : undefined;
    try {
      const note = (kind: string, payload: Record<string, unknown>) =>
        live.note(kind, { call_id: callId, tool, ...payload });
      const output = await skill.execute(input, this.#env, lock?.signal ?? signal, note);
      for (const decision of frameDecisions(output))
        live.note('policy.decision', { ...decision, stage: 'frame', tool, call_id: callId });
      // The navigator may have sent the robot to the nearest free spot instead: goal_reached checks that one.
      if (tool === 'navigate_to') live.lastGoal = sentTo(output) ?? live.lastGoal;
      return { ok: true, output };
    } catch (error) {
      return { ok: false, error: errorText(error) };
    } finally {
      offEnd?.();
      lock?.release();
    }
  }

  /**
   * A skill that acts before its call is durable (`stop`): its first step (up to its first await: all of
   * `stop`) runs now, before its tool.call is handed to the journal, so the zero Twist is on the bus, and
   * delivered, before the journal's write(2), which a disk under pressure can hold. Then it waits for that
   * write; a write that fails fails the run as for any call.
   */
  async #actFirst(live: LiveRun, skill: SkillDefinition, input: unknown, callId: string): Promise<ToolResult> {
    live.started.set(callId, performance.now());
    // Its run given (a stop is rare: the copy costs nothing that matters), so the operator's stop spares it.
    const acting = skill.execute(input, { ...this.#env, runId: live.run.run_id }, NEVER_ABORTED);
    const journaled = live.event('tool.call', { call_id: callId, tool: skill.name, input });
    journaled.catch(() => {}); // awaited below, once the skill has acted
    let result: ToolResult;
    try {
      result = { ok: true, output: await acting };
    } catch (error) {
      result = { ok: false, error: errorText(error) };
    }
    await journaled;
    return result;
  }

  /**
   * After a call: the result as the policy chain leaves it (an injection is wrapped and taints the run).
   * One `tool.result` event holds what the skill returned and, when a rule changed it, what the model was
   * given (`screened`): a resumed run replays exactly that.
   */
  after(
    live: LiveRun,
    tool: string,
    input: unknown,
    result: ToolResult,
    callId: string,
  ): ToolResult | Promise<ToolResult> {
    const ctx: ToolCallContext = { run: live.run, intent: live.intent, tool, callIndex: live.callCount };
    const chain = runPolicyChain<ToolResult>(this.#after, result, (hook, value) =>
      hook.afterToolCall!(ctx, input, value),
    );
    return chain instanceof Promise
      ? chain.then((outcome) => this.#screen(live, tool, result, callId, outcome))
      : this.#screen(live, tool, result, callId, chain);
  }

  #screen(
    live: LiveRun,
    tool: string,
    result: ToolResult,
    callId: string,
    outcome: ChainOutcome<ToolResult>,
  ): ToolResult {
    if (outcome.fired.some((f) => f.rule === INJECTION_RULE)) live.tainted = true;
    this.#record(live, outcome, 'after', tool, callId);
    // A denied result is withheld from the model entirely.
    const screened: ToolResult = outcome.allowed
      ? outcome.value
      : { ok: false, error: `result withheld by policy: ${outcome.reason}` };
    const started = live.started.get(callId);
    live.started.delete(callId);
    const duration = started === undefined ? null : performance.now() - started;
    live.noteResult(
      callId,
      screened === result
        ? { call_id: callId, tool, result, duration_ms: duration }
        : { call_id: callId, tool, result, screened, duration_ms: duration },
    );
    return screened;
  }

  /** before, execute, after: a deterministic call. */
  async invoke(live: LiveRun, tool: string, input: unknown, callId: string): Promise<ToolResult> {
    const before = await this.before(live, tool, input, callId);
    if (!before.ok) return { ok: false, error: before.reason };
    const result = await this.execute(live, tool, before.input, callId);
    return this.after(live, tool, before.input, result, callId);
  }

  #record(
    live: LiveRun,
    outcome: ChainOutcome<unknown>,
    stage: 'before' | 'after',
    tool: string,
    callId: string,
  ): void {
    for (const fired of outcome.fired) live.note('policy.decision', { ...fired, stage, tool, call_id: callId });
  }
}

/** What a skill that is not cancellable is given: it does not read it, so one signal serves them all. */
const NEVER_ABORTED = new AbortController().signal;

function ended(live: LiveRun, tool: string): ToolResult {
  return { ok: false, error: `the run ended before ${tool} could act (${live.run.reason ?? live.run.status})` };
}

/** Where a navigate_to result says the robot was sent (`goal`), if it says. */
export function sentTo(output: unknown): { x: number; y: number } | undefined {
  const goal = (output as { goal?: { x?: unknown; y?: unknown } } | null)?.goal;
  return typeof goal?.x === 'number' && typeof goal.y === 'number' ? { x: goal.x, y: goal.y } : undefined;
}
