import type { ActionGoals } from '../actions/index.ts';
import { MessageCodec } from '../bus/index.ts';
import { nameScope, type EdgeConfig } from '../config/index.ts';
import type { SkillName } from '../config/index.ts';
import type { PolicyHook, HaltLatchView } from '../contract/index.ts';
import type { AgentEvent, Intent, RunState, RunStatus } from '../contract/index.ts';
import type {
  AgentService,
  JournalHolder,
  MetricFamily,
  MetricsProvider,
  PolicyHooksProvider,
  ExternalRun,
  ExternalRuns,
  ExternalRunStatus,
  RobotHaltOutcome,
  RobotHaltService,
  HaltReleaseOutcome,
  SubmittedIntent,
} from '../contract/index.ts';
import type { Component, ComponentContext, ComponentHealth } from '../lifecycle/index.ts';
import { runQuotas } from '../policy/index.ts';
import { CmdVelGate } from '../motion/index.ts';
import { latchedMessage } from '../halt/index.ts';
import { agentMetrics } from './agent-metrics.ts';
import { AgentNavigation } from './agent-navigation.ts';
import { AgentPolicy } from './agent-policy.ts';
import { ApprovalFlow } from './approval-flow.ts';
import { openExternalRun } from './external-run.ts';
import { IntentIntake } from './intent-intake.ts';
import { IntentTopic } from './intent-topic.ts';
import type { IntentSource } from './intents.ts';
import { LiveRuns } from './live-runs.ts';
import type { ModelService } from './model-service.ts';
import { MotionLock } from './motion-lock.ts';
import { RobotHalt } from './robot-halt.ts';
import { robotPose } from '../motion/index.ts';
import { RunExecutor } from './run-executor.ts';
import { recoverRuns } from './run-recovery.ts';
import { RunStore } from './run-store.ts';
import { AGENT_PORTS, type MotionHolder, type NavigationService, type PolicyRunnerService } from './services.ts';
import { SKILLS, type SkillDefinition, type SkillEnv } from './skills/index.ts';
import { haltRobot } from './skills/halt.ts';
import { ToolInvoker } from './tool-invoker.ts';
import { errorText } from '../util/index.ts';

export { AGENT_NAV_CMD_VEL } from './agent-navigation.ts';

export interface AgentComponentOptions {
  /** System 2; by default the `llm` component. */
  model?: ModelService;
  /** By default the agent drives its own Navigator (daemon/navigation) through the CmdVelGate. */
  navigation?: NavigationService;
  /** System 1; by default the `policies` or `control` component. */
  policies?: PolicyRunnerService;
  /** Extra policy hooks, after the configured ones. */
  hooks?: PolicyHook[];
  /** How long the operator's stop waits for its cancels to be journaled before it answers (default 1000 ms). */
  stopReplyWaitMs?: number;
}

/**
 * Component `agent`: the edge agent of this application, and the AgentService the API, the central link
 * and the intent topic submit to. An intent becomes a durable run; a skill intent runs its skill with no
 * model, a natural-language one runs a pi Agent on System 2. Runs, their events and their approvals are in
 * the journal, and are rebuilt from it at start: runs that were running come back `interrupted`, runs that
 * waited for approval wait again and resume where they stopped. This class wires the parts and holds their
 * lifecycle: IntentIntake takes intents, LiveRuns and RunExecutor run them, ApprovalFlow waits on people,
 * RobotHalt is the agent's part of the operator's stop, AgentPolicy the hook chain.
 */
export class AgentComponent
  implements
    Component,
    AgentService,
    RobotHaltService,
    MotionHolder,
    MetricsProvider,
    PolicyHooksProvider,
    ExternalRuns,
    JournalHolder
{
  readonly name = 'agent';
  readonly store: RunStore;
  /** The goals in flight (the daemon's one registry): a run's end or the operator's stop cancels them. */
  readonly actionGoals: ActionGoals;
  #ctx: ComponentContext;
  /** System 2, System 1 and navigation as given; each looked up, or the agent's own, when not. */
  readonly #givenModel: ModelService | undefined;
  readonly #givenPolicies: PolicyRunnerService | undefined;
  readonly #givenNavigation: NavigationService | undefined;
  #gate: CmdVelGate;
  #skills: Map<string, SkillDefinition>;
  #policy: AgentPolicy;
  #runs: LiveRuns;
  #approvals: ApprovalFlow;
  #invoker: ToolInvoker;
  #intake: IntentIntake;
  #intentTopic: IntentTopic;
  #latch: HaltLatchView;
  /** Unregisters the agent's part of the operator's stop (registered while it runs). */
  #offHalt: (() => void) | undefined;
  #motion: MotionLock;
  #navigation: AgentNavigation;
  #haltAuthority: RobotHalt;
  /** Why the agent stopped, once close() was called: a start or an acceptance still going then must not act. */
  #closed: string | undefined;

  constructor(ctx: ComponentContext, options: AgentComponentOptions = {}) {
    this.#ctx = ctx;
    const settings = ctx.config.agent;
    const { model, policies, navigation, hooks = [] } = options;
    this.#givenModel = model;
    this.#givenPolicies = policies;
    this.#givenNavigation = navigation;
    this.store = new RunStore(ctx.journal, { keepFinished: settings.keep_finished_runs });
    this.actionGoals = ctx.actionGoals;
    const codec = new MessageCodec(ctx.definitions);
    this.#latch = ctx.haltAuthority.latch;
    this.#motion = new MotionLock(() => this.#latch.refusal());
    this.#gate = new CmdVelGate({
      bus: ctx.bus,
      codec,
      limits: ctx.config.motion.velocity,
      latched: () => this.#latch.refusal(),
    });
    this.#navigation = new AgentNavigation({
      bus: ctx.bus,
      codec,
      gate: this.#gate,
      settings: settings.navigation,
      timeScale: timeScaleOf(ctx.config),
    });
    this.#skills = new Map(settings.skills.map((name) => [name, SKILLS[name]]));
    const names = nameScope(ctx.config);
    this.#policy = new AgentPolicy({
      settings: { rules: settings.rules, motion: ctx.config.motion },
      latch: this.#latch,
      topicType: (topic) => ctx.bus.topicType(topic),
      pose: robotPose(ctx.bus, codec, () => settings.navigation.odom_topic),
      // The daemon's one view of the robot (its measured joints and limits), while motion.joints is set.
      joints: () => (ctx.robot.settings ? ctx.robot : undefined),
      extra: hooks,
    });
    this.#runs = new LiveRuns({
      store: this.store,
      log: ctx.log,
      quotas: (intent) => runQuotas(this.#policy.settings.rules.quotas, intent),
      execute: (live, parsed) => executor.execute(live, parsed),
    });
    this.#approvals = new ApprovalFlow({
      store: this.store,
      runs: this.#runs,
      skills: this.#skills,
      names,
      timeoutS: settings.approval_timeout_s,
      approvers: () => this.#policy.settings.rules.approval,
    });
    this.#haltAuthority = new RobotHalt({
      motion: this.#motion,
      gate: this.#gate,
      store: this.store,
      approvals: this.#approvals,
      log: ctx.log,
      accepting: () => this.#intake.accepting(),
      replyWaitMs: options.stopReplyWaitMs,
    });
    const env: SkillEnv = {
      bus: ctx.bus,
      codec,
      gate: this.#gate,
      motion: this.#motion,
      settings,
      names,
      log: ctx.log,
      navigation: () => this.#givenNavigation ?? this.#navigation.navigator(),
      policies: () => this.#policiesService(),
      actionGoals: this.actionGoals,
      // The stop skill is the operator's stop: the latch, the arm's hold, every door's drive ended.
      halt: ({ by, spare }) =>
        this.#haltAuthority.haltSparing(spare, () => {
          const { tick, done } = ctx.haltAuthority.haltNow(by);
          // Logged by the authority; the skill has its tick, and the run does not wait on the journal's disk.
          done.catch(() => {});
          return tick;
        }),
    };
    this.#invoker = new ToolInvoker({
      hooks: this.#policy.hooks,
      skills: this.#skills,
      env,
      approvals: this.#approvals.gate,
      requireApproval: new Set<SkillName>(settings.require_approval),
      onSuspect: ctx.config.agent.rules.injection.on_suspect,
    });
    const executor = new RunExecutor({
      bus: ctx.bus,
      codec,
      settings,
      invoker: this.#invoker,
      skills: this.#skills,
      model: () => this.#model(),
      namedPoses: () => ctx.ports.get(AGENT_PORTS.namedPoses)?.namedPoses,
    });
    this.#intake = new IntentIntake({
      store: this.store,
      runs: this.#runs,
      haltAuthority: this.#haltAuthority,
      skills: this.#skills,
      names,
      robotId: () => ctx.config.robot.id,
      llmRunner: `llm:${settings.name}`,
      intentHooks: () => this.#policy.intentHooks,
      model: () => this.#model(),
      stopped: () => this.#closed,
    });
    this.#intentTopic = new IntentTopic({
      bus: ctx.bus,
      codec,
      topic: settings.intent_topic,
      log: ctx.log,
      submit: (raw) => this.submitIntent(raw, 'ros'),
    });
  }

  async start(): Promise<void> {
    this.#offHalt = this.#ctx.haltAuthority.onHalt('agent', (order) => this.#haltAuthority.halt(order));
    const { latched, ignored } = this.#ctx.haltAuthority.load();
    if (latched)
      this.#ctx.log.warn(
        { stop_latch: latched, file: this.#latch.path },
        `${latchedMessage(latched)}: the stop is latched since before this start`,
      );
    if (ignored) this.#ctx.log.warn({ file: this.#latch.path }, ignored);
    this.store.rebuild();
    for (const warning of this.store.warnings) this.#ctx.log.warn({ warning }, 'agent journal record skipped');
    await recoverRuns(this.store, this.#approvals, () => this.#closed !== undefined);
    // Stopped while starting (the supervisor's budget ran out): the agent made next serves, not this one.
    if (this.#closed !== undefined) return;
    this.#intentTopic.start();
  }

  /**
   * A driver outside the agent's runs (the sim's main job) holds the robot's motion as a motion skill does
   * (MotionHolder). The agent stopping (a reload that restarts it) aborts it too: the operator's stop would
   * no longer reach it.
   */
  holdMotion(name: string, signal: AbortSignal): { signal: AbortSignal; release: () => void } {
    const { signal: held, release } = this.#motion.acquire(name, signal);
    return { signal: held, release };
  }

  /** `reason`: why the agent stops when it is not the daemon stopping (a config reload restarts it). */
  async close(reason = 'the daemon stopped'): Promise<void> {
    this.#closed = reason;
    this.#offHalt?.();
    this.#intentTopic.close();
    await this.#runs.close(reason);
    this.#approvals.close();
    this.#motion.abort('the agent stopped');
    this.#navigation.close();
    this.#gate.close();
  }

  /**
   * A config reload's policy.* for the running agent: the hook chain, the velocity gate's limits, the joint
   * limits and the injection setting change for every tool call and Twist from now on, runs in progress included, so a
   * tighter limit takes hold without ending them; so does sim.speed for the navigator. A run's quotas stay
   * those it started with. Throws when the velocity topic changed (the supervisor then restarts the agent).
   */
  applySettings(config: EdgeConfig): void {
    const settings = { rules: config.agent.rules, motion: config.motion };
    this.#gate.setLimits(settings.motion.velocity);
    this.#policy.apply(settings);
    this.#invoker.setPolicy(this.#policy.hooks, settings.rules.injection.on_suspect);
    this.#navigation.setTimeScale(timeScaleOf(config));
  }

  /** Journal retention keeps every record a live run may need to be rebuilt after a restart. */
  journalHold(): number | undefined {
    return this.store.oldestLiveSeq();
  }

  /** The hooks every tool call passes through; other ways of acting (Foxglove teleop) use the same ones. */
  policyHooks(): readonly PolicyHook[] {
    return this.#policy.hooks;
  }

  health(): ComponentHealth {
    const counts = Object.fromEntries(this.store.counters.byStatus) as Partial<Record<RunStatus, number>>;
    const model = this.#model()?.available() ?? { ok: false as const, reason: 'the llm component is not running' };
    const navigator = this.#navigation.status;
    const details = {
      runs: counts,
      live: this.#runs.size,
      skills: [...this.#skills.keys()],
      gate: this.#gate.counters,
      approvals_refused: this.#approvals.refused,
      navigator_time_scale: navigator.timeScale,
      navigator_odom_timeout_ms: navigator.odomTimeoutMs,
      stop_latch: this.#latch.state ?? null,
      // What holds the robot: a driver outside the runs (the sim's main job) is listed with the runs on the page.
      motion: this.#motion.holder,
    };
    if (!model.ok)
      return {
        state: 'degraded',
        reason: `System 2 unavailable (${model.reason}): natural-language intents fail fast, skill intents run`,
        details,
      };
    return { state: 'running', details };
  }

  metrics(): MetricFamily[] {
    return agentMetrics(this.store.counters, this.#gate.counters);
  }

  async submitIntent(raw: unknown, source: IntentSource): Promise<RunState> {
    return (await this.submit(raw, source)).run;
  }

  submit(raw: unknown, source: IntentSource): Promise<SubmittedIntent> {
    return this.#intake.submit(raw, source);
  }

  /** ExternalRuns: a run for what an intake did outside the agent's runs (an MCP session's reads and refusals). */
  openExternalRun(intent: Intent, treeRef: string, status: ExternalRunStatus, reason: string): Promise<ExternalRun> {
    return openExternalRun(this.store, intent, treeRef, status, reason);
  }

  listRuns(filter?: { status?: RunStatus; limit?: number }): RunState[] {
    return this.store.list(filter);
  }

  getRun(runId: string): { run: RunState; events: AgentEvent[] } | undefined {
    const record = this.store.get(runId);
    return record ? { run: record.run, events: [...record.events] } : undefined;
  }

  approve(runId: string, by: string, source: IntentSource = 'http'): Promise<RunState> {
    return this.#approvals.approve(runId, { by, source });
  }

  cancel(runId: string, by: string, reason?: string): Promise<RunState> {
    return this.#approvals.cancel(runId, by, reason);
  }

  haltMotion(reason: string): void {
    try {
      haltRobot({ motion: this.#motion, gate: this.#gate }, reason);
    } catch (error) {
      // The stop intent's own stop skill halts again, and its run says why it could not.
      this.#ctx.log.error({ err: errorText(error) }, `agent: ${reason}: the robot was NOT halted`);
    }
  }

  /**
   * The operator's stop: the robot stops in this tick, before anything that can wait, then every run that
   * has not ended is cancelled, and so is the run of any intent being accepted (see RobotHalt). The reply
   * waits a bounded time for the journal. With motion.stop.latch it latches: no motion until `releaseStop`.
   */
  halt(by: string, reason?: string): Promise<RobotHaltOutcome> {
    return this.#ctx.haltAuthority.halt(by, reason);
  }

  /**
   * A person releases the latched stop (POST /stop/release, `auraison-edge stop --release`): the robot may
   * move again. Nothing that was stopped restarts; new intents and motion are taken from now on.
   */
  releaseHalt(by: string, since?: string): Promise<HaltReleaseOutcome> {
    return this.#ctx.haltAuthority.release(by, since);
  }

  #model(): ModelService | undefined {
    if (this.#givenModel) return this.#givenModel;
    return this.#ctx.ports.get(AGENT_PORTS.model);
  }

  #policiesService(): PolicyRunnerService | undefined {
    if (this.#givenPolicies) return this.#givenPolicies;
    // The control component runs on-demand loops.
    return this.#ctx.ports.get(AGENT_PORTS.policies);
  }
}

/** Robot seconds per wall second: the sim's speed when the sim runs, else 1 (a real robot). */
function timeScaleOf(config: EdgeConfig): number {
  return config.sim.enabled ? config.sim.speed : 1;
}
