import type { ActionGoals } from '../actions/index.ts';
import { MessageCodec } from '../bus/index.ts';
import type { Subscription } from '../bus/index.ts';
import { nameScope, type EdgeConfig } from '../config/index.ts';
import type { NameScope } from '../names/index.ts';
import type { AgentSettings, AgentPolicySettings as PolicySettings, SkillName } from '../config/index.ts';
import type { PolicyHook, StopLatchView } from '../contract/index.ts';
import { misdirection } from '../contract/index.ts';
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
  RobotStopOutcome,
  RobotStopService,
  StopReleaseOutcome,
  SubmittedIntent,
} from '../contract/index.ts';
import type { Component, ComponentContext, ComponentHealth } from '../lifecycle/index.ts';
import { Navigator } from '../navigation/index.ts';
import { hooksWith } from '../policy/index.ts';
import { runPolicyChain } from '../contract/index.ts';
import { CmdVelGate } from '../policy/index.ts';
import { policyHooks, type RobotPose } from '../policy/index.ts';
import { runQuotas } from '../policy/index.ts';
import { ApprovalFlow } from './approval-flow.ts';
import { AgentError } from './errors.ts';
import { intentDifferences, parseIntent, type IntentSource, type ParsedIntent } from './intents.ts';
import type { LiveRun } from './live-run.ts';
import { LiveRuns } from './live-runs.ts';
import { runNaturalLanguage } from './llm-run.ts';
import type { ModelService } from './model-service.ts';
import { MotionLock } from './motion-lock.ts';
import { openExternalRun } from './external-run.ts';
import { RobotStop } from './robot-stop.ts';
import { robotPose } from './robot-pose.ts';
import { RunStore, unansweredCalls } from './run-store.ts';
import { latchedMessage, stopLatchHook } from '../safety/index.ts';
import { AGENT_PORTS, type MotionHolder, type NavigationService, type PolicyRunnerService } from './services.ts';
import { runSkill } from './skill-run.ts';
import { SKILLS, type SkillDefinition, type SkillEnv } from './skills/index.ts';
import { haltRobot } from './skills/stop.ts';
import { systemPrompt } from './system-prompt.ts';
import { ToolInvoker } from './tool-invoker.ts';
import { LogBurst, withSuppressed } from '../util/index.ts';
import type { ValidatorEnv } from './validators.ts';

/** The internal topic the agent's own navigator publishes to; the CmdVelGate forwards it, limited. */
export const AGENT_NAV_CMD_VEL = '/auraison/agent/nav_cmd_vel';

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
 * waited for approval wait again and resume where they stopped.
 */
export class AgentComponent
  implements
    Component,
    AgentService,
    RobotStopService,
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
  #settings: AgentSettings;
  /** The node relative names in intents and tool calls resolve against (ros.namespace, ros.node_name). */
  #names: NameScope;
  #policy: PolicySettings;
  /** System 2, System 1 and navigation as given; each looked up, or the agent's own, when not. */
  readonly #givenModel: ModelService | undefined;
  readonly #givenPolicies: PolicyRunnerService | undefined;
  readonly #givenNavigation: NavigationService | undefined;
  /** Policy hooks given, after the configured ones. */
  readonly #extraHooks: PolicyHook[];
  #codec: MessageCodec;
  #gate: CmdVelGate;
  #skills: Map<string, SkillDefinition>;
  #intentLog = new LogBurst();
  /** The robot's last pose (odometry), for the geofence's hold on velocity commands. */
  #pose: () => RobotPose | undefined;
  #hooks: PolicyHook[];
  #intentHooks: PolicyHook[];
  #runs: LiveRuns;
  #approvals: ApprovalFlow;
  #invoker: ToolInvoker;
  #latch: StopLatchView;
  /** Unregisters the agent's part of the operator's stop (registered while it runs). */
  #offStop: (() => void) | undefined;
  #motion: MotionLock;
  #navigator: Navigator | undefined;
  /** Robot seconds per wall second for the navigator's watchdogs: the sim's speed in a sim, else 1. */
  #timeScale: number;
  #intentSub: Subscription | undefined;
  #robotStop: RobotStop;
  /** Why the agent stopped, once stop() was called: a start or an acceptance still going then must not act. */
  #stopped: string | undefined;
  /** Intents being accepted (before their run is durable), by intent id: a second delivery waits on the first. */
  #submitting = new Map<string, { intent: Intent; accepting: Promise<RunState> }>();
  #validatorEnv = (l: LiveRun): ValidatorEnv => ({
    bus: this.#ctx.bus,
    codec: this.#codec,
    lastGoal: l.lastGoal,
    signal: l.signal,
    odomTopic: this.#settings.navigation.odom_topic,
    toleranceM: this.#settings.navigation.tolerance_m,
  });

  constructor(ctx: ComponentContext, options: AgentComponentOptions = {}) {
    this.#ctx = ctx;
    this.#settings = ctx.config.agent;
    this.#policy = ctx.config.policy;
    const { model, policies, navigation, hooks = [] } = options;
    this.#givenModel = model;
    this.#givenPolicies = policies;
    this.#givenNavigation = navigation;
    this.#extraHooks = hooks;
    this.#timeScale = timeScaleOf(ctx.config);
    this.store = new RunStore(ctx.journal, { keepFinished: this.#settings.keep_finished_runs });
    this.actionGoals = ctx.actionGoals;
    this.#codec = new MessageCodec(ctx.definitions);
    this.#latch = ctx.robotStop.latch;
    this.#motion = new MotionLock(() => this.#latch.refusal());
    this.#gate = new CmdVelGate({
      bus: ctx.bus,
      codec: this.#codec,
      limits: this.#policy.velocity,
      latched: () => this.#latch.refusal(),
    });
    this.#skills = new Map(this.#settings.skills.map((name) => [name, SKILLS[name]]));
    this.#names = nameScope(ctx.config);
    this.#pose = robotPose(ctx.bus, this.#codec, () => this.#settings.navigation.odom_topic);
    this.#hooks = this.#hookChain(this.#policy);
    this.#intentHooks = hooksWith(this.#hooks, 'onIntent');
    this.#runs = new LiveRuns({
      store: this.store,
      log: ctx.log,
      quotas: (intent) => runQuotas(this.#policy.quotas, intent),
      execute: (live, parsed) => this.#execute(live, parsed),
    });
    this.#approvals = new ApprovalFlow({
      store: this.store,
      runs: this.#runs,
      skills: this.#skills,
      names: this.#names,
      timeoutS: this.#settings.approval_timeout_s,
      approvers: () => this.#policy.approval,
    });
    this.#robotStop = new RobotStop({
      motion: this.#motion,
      gate: this.#gate,
      store: this.store,
      approvals: this.#approvals,
      log: ctx.log,
      accepting: () => this.#submitting.values(),
      replyWaitMs: options.stopReplyWaitMs,
    });
    const env: SkillEnv = {
      bus: ctx.bus,
      codec: this.#codec,
      gate: this.#gate,
      motion: this.#motion,
      settings: this.#settings,
      names: this.#names,
      log: ctx.log,
      navigation: () => this.#navigation(),
      policies: () => this.#policiesService(),
      actionGoals: this.actionGoals,
    };
    this.#invoker = new ToolInvoker({
      hooks: this.#hooks,
      skills: this.#skills,
      env,
      approvals: this.#approvals.gate,
      requireApproval: new Set<SkillName>(this.#settings.require_approval),
      onSuspect: this.#policy.injection.on_suspect,
    });
  }

  async start(): Promise<void> {
    this.#offStop = this.#ctx.robotStop.onStop('agent', (order) => this.#robotStop.stop(order));
    const { latched, ignored } = this.#ctx.robotStop.load();
    if (latched)
      this.#ctx.log.warn(
        { stop_latch: latched, file: this.#latch.path },
        `${latchedMessage(latched)}: the stop is latched since before this start`,
      );
    if (ignored) this.#ctx.log.warn({ file: this.#latch.path }, ignored);
    this.store.rebuild();
    for (const warning of this.store.warnings) this.#ctx.log.warn({ warning }, 'agent journal record skipped');
    for (const record of [...this.store.all()]) {
      // Stopped while starting (the supervisor's budget ran out): the agent made next serves, not this one.
      if (this.#stopped !== undefined) return;
      const { status } = record.run;
      if (status === 'running' || status === 'pending') {
        // Killed (or crashed) while a skill acted: its call gets a result saying so, not none.
        const open = unansweredCalls(record);
        if (open.length > 0) {
          await this.store.events(
            record.run.run_id,
            open.map((call) => ({
              kind: 'tool.result',
              payload: {
                call_id: call.call_id,
                tool: call.tool,
                result: {
                  ok: false,
                  error: `the daemon stopped while ${call.tool} was acting (it did not shut down cleanly): what it did is unknown`,
                },
                run_ended: 'interrupted',
                duration_ms: null,
              },
            })),
          );
        }
        await this.store.transition(
          record.run.run_id,
          'interrupted',
          `the daemon stopped while the run was ${status}; submit the intent again to retry`,
        );
      } else if (status === 'awaiting_approval') {
        this.#approvals.rearm(record);
      }
    }
    if (this.#stopped !== undefined) return;
    const topic = this.#settings.intent_topic;
    if (topic) {
      this.#intentSub = this.#ctx.bus.subscribe({
        name: 'agent-intents',
        topic,
        queue: { policy: 'drop-oldest', depth: 100 },
        handler: (msg) => this.#onIntentMessage(msg.type, msg.data),
      });
    }
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
  async stop(reason = 'the daemon stopped'): Promise<void> {
    this.#stopped = reason;
    this.#offStop?.();
    if (this.#intentSub) this.#ctx.bus.unsubscribe(this.#intentSub);
    await this.#runs.stop(reason);
    this.#approvals.stop();
    this.#motion.abort('the agent stopped');
    this.#navigator?.stop();
    this.#gate.close();
  }

  /**
   * A config reload's policy.* for the running agent: the hook chain, the velocity gate's limits and the
   * injection setting change for every tool call and Twist from now on, runs in progress included, so a
   * tighter limit takes hold without ending them; so does sim.speed for the navigator. A run's quotas stay
   * those it started with. Throws when the velocity topic changed (the supervisor then restarts the agent).
   */
  applySettings(config: EdgeConfig): void {
    const policy = config.policy;
    this.#gate.setLimits(policy.velocity);
    this.#policy = policy;
    // In place: whoever holds the array (Foxglove's publish gate) sees the new chain too.
    this.#hooks.splice(0, this.#hooks.length, ...this.#hookChain(policy));
    this.#intentHooks = hooksWith(this.#hooks, 'onIntent');
    this.#invoker.setPolicy(this.#hooks, policy.injection.on_suspect);
    // sim.speed: the navigator is made once and kept, so it is told (goals from now on take it).
    this.#timeScale = timeScaleOf(config);
    this.#navigator?.setTimeScale(this.#timeScale);
  }

  /** Journal retention keeps every record a live run may need to be rebuilt after a restart. */
  journalHold(): number | undefined {
    return this.store.oldestLiveSeq();
  }

  /** The hooks every tool call passes through; other ways of acting (Foxglove teleop) use the same ones. */
  policyHooks(): readonly PolicyHook[] {
    return this.#hooks;
  }

  health(): ComponentHealth {
    const counts = Object.fromEntries(this.store.counters.byStatus) as Partial<Record<RunStatus, number>>;
    const model = this.#model()?.available() ?? { ok: false as const, reason: 'the llm component is not running' };
    const details = {
      runs: counts,
      live: this.#runs.size,
      skills: [...this.#skills.keys()],
      gate: this.#gate.counters,
      approvals_refused: this.#approvals.refused,
      navigator_time_scale: this.#navigator?.timeScale ?? null,
      navigator_odom_timeout_ms: this.#navigator?.odomTimeoutMs ?? null,
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
    // Totals over the whole journal, kept by the store as records come: a scrape walks no events.
    const { byStatus, toolCalls, decisions } = this.store.counters;
    return [
      {
        name: 'auraison_agent_runs',
        help: 'Runs in the journal, by status.',
        type: 'gauge',
        samples: [...byStatus].map(([status, value]) => ({ labels: { status }, value })),
      },
      {
        name: 'auraison_agent_tool_calls_total',
        help: 'Tool calls run.',
        type: 'counter',
        samples: [{ value: toolCalls }],
      },
      {
        name: 'auraison_agent_policy_decisions_total',
        help: 'Policy rules fired, by rule.',
        type: 'counter',
        samples: [...decisions].map(([rule, value]) => ({ labels: { rule }, value })),
      },
      {
        name: 'auraison_agent_cmd_vel_clamped_total',
        help: 'Twists the gate clamped to the velocity limits.',
        type: 'counter',
        samples: [{ value: this.#gate.counters.clamped }],
      },
      {
        name: 'auraison_agent_cmd_vel_held_total',
        help: "Moving Twists the gate sent as zero while the operator's stop was latched.",
        type: 'counter',
        samples: [{ value: this.#gate.counters.held }],
      },
    ];
  }

  async submitIntent(raw: unknown, source: IntentSource): Promise<RunState> {
    return (await this.submit(raw, source)).run;
  }

  async submit(raw: unknown, source: IntentSource): Promise<SubmittedIntent> {
    const parsed = parseIntent(raw, source, this.#skills, this.#names);
    // Every intake (HTTP, MQTT, ROS, Zenoh, the CLI) comes through here: one check of whom it is for.
    const misdirected = misdirection(parsed.intent.targets, this.#ctx.config.robot.id);
    if (misdirected) throw new AgentError('wrong_target', misdirected);
    const id = parsed.intent.intent_id;
    // Intents arrive at least once (MQTT redelivers): the same intent id is the same run, also when the
    // second copy comes while the first is still being made durable. A different intent under a used id is
    // refused: answering with the old run would let the sender believe its new params were taken.
    const existing = this.store.byIntent(id);
    if (existing) return { run: sameIntent(existing.intent, parsed.intent, existing.run), replayed: true };
    const submitting = this.#submitting.get(id);
    if (submitting) {
      const run = await submitting.accepting;
      return { run: sameIntent(submitting.intent, parsed.intent, run), replayed: true };
    }
    // Registered before the first await, so no second caller can slip between the check and the create.
    const accepting = this.#accept(parsed);
    this.#submitting.set(id, { intent: parsed.intent, accepting });
    // Inline arrows: tsx names a closure held in a variable with a defineProperty call, per intent.
    accepting.then(
      () => this.#submitting.delete(id),
      () => this.#submitting.delete(id),
    );
    return { run: await accepting, replayed: false };
  }

  async #accept(parsed: ParsedIntent): Promise<RunState> {
    const { intent } = parsed;
    const stops = this.#robotStop.mark;
    const record = await this.store.create(
      intent,
      intent.type === 'natural_language' ? `llm:${this.#settings.name}` : `skill:${intent.type}`,
    );
    // A stop may have cancelled it already, in the tick its record showed in the store.
    const live = this.#runs.get(record.run.run_id) ?? this.#runs.track(record);
    const halted = this.#haltedWhileAccepting(live, intent, stops);
    if (halted) return halted;
    const chain = runPolicyChain<Intent>(this.#intentHooks, intent, (hook, value) => hook.onIntent!(value));
    const verdict = chain instanceof Promise ? await chain : chain;
    for (const fired of verdict.fired) await live.event('policy.decision', { ...fired, stage: 'intent' });
    if (!verdict.allowed) return live.finish('failed', `refused by policy: ${verdict.reason}`);
    if (intent.type === 'natural_language') {
      const model = this.#model();
      const available = model?.available() ?? { ok: false as const, reason: 'the llm component is not running' };
      if (!model || !available.ok)
        return live.finish(
          'failed',
          `System 2 unavailable: ${available.ok ? 'no model' : available.reason}; skill intents still run`,
        );
    }
    // The intent hooks may have waited: a stop that came meanwhile ends the run before it acts.
    const haltedMeanwhile = this.#haltedWhileAccepting(live, intent, stops);
    if (haltedMeanwhile) return haltedMeanwhile;
    this.#runs.run(live, parsed);
    return live.run;
  }

  /**
   * A run whose intent was being accepted when the operator stopped the robot (`stops`: the stop count then)
   * or the agent stopped must not start: it is cancelled, or interrupted, here. Resolves with its state
   * once that is journaled; undefined when it may start.
   */
  #haltedWhileAccepting(live: LiveRun, intent: Intent, stops: number): Promise<RunState> | undefined {
    if (this.#stopped !== undefined) {
      const ended = live.finish(
        'interrupted',
        `${this.#stopped} while the run was pending; submit the intent again to retry`,
      );
      return ended.finally(() => this.#runs.dropIdle(live));
    }
    const order = this.#robotStop.since(stops);
    if (order) return this.#robotStop.cancelAccepted(intent, live.run.run_id, order);
    // Ended by something else meanwhile (a cancel): the run as its end left it.
    if (live.closed) return live.endError().then(() => live.run);
    return undefined;
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

  halt(reason: string): void {
    try {
      haltRobot({ motion: this.#motion, gate: this.#gate }, reason);
    } catch (error) {
      // The stop intent's own stop skill halts again, and its run says why it could not.
      this.#ctx.log.error({ err: (error as Error).message }, `agent: ${reason}: the robot was NOT halted`);
    }
  }

  /**
   * The operator's stop: the robot stops in this tick, before anything that can wait, then every run that
   * has not ended is cancelled, and so is the run of any intent being accepted (see RobotStop). The reply
   * waits a bounded time for the journal. With agent.stop_latch it latches: no motion until `releaseStop`.
   */
  stopRobot(by: string, reason?: string): Promise<RobotStopOutcome> {
    return this.#ctx.robotStop.stop(by, reason);
  }

  /**
   * A person releases the latched stop (POST /stop/release, `auraison-edge stop --release`): the robot may
   * move again. Nothing that was stopped restarts; new intents and motion are taken from now on.
   */
  releaseStop(by: string, since?: string): Promise<StopReleaseOutcome> {
    return this.#ctx.robotStop.release(by, since);
  }

  /**
   * The hook chain: the latched stop first (also on the navigator's topic, which the gate forwards), then policy.* in
   * its order, then the application's hooks.
   */
  #hookChain(policy: PolicySettings): PolicyHook[] {
    return [
      stopLatchHook(this.#latch, policy.velocity, [AGENT_NAV_CMD_VEL], (topic) => this.#ctx.bus.topicType(topic)),
      ...policyHooks(policy, this.#pose),
      ...this.#extraHooks,
    ];
  }

  /** Runs a run's skill, or its model on System 2; LiveRuns ends the run if this does not. */
  #execute(live: LiveRun, parsed: ParsedIntent): Promise<unknown> {
    if (parsed.text === undefined) {
      return runSkill(live, parsed.args, parsed.validators, {
        invoker: this.#invoker,
        maxRefines: this.#settings.max_refines,
        validatorEnv: this.#validatorEnv,
      });
    }
    const model = this.#model();
    if (!model) return live.finish('failed', 'System 2 unavailable: the llm component is not running');
    const poses = { ...this.#ctx.ports.get(AGENT_PORTS.namedPoses)?.namedPoses, ...this.#settings.named_poses };
    return runNaturalLanguage(live, parsed.text, parsed.validators, {
      model,
      invoker: this.#invoker,
      skills: [...this.#skills.values()],
      systemPrompt: systemPrompt(this.#settings.system_prompt, poses),
      maxRefines: this.#settings.max_refines,
      validatorEnv: this.#validatorEnv,
    });
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

  #navigation(): NavigationService {
    if (this.#givenNavigation) return this.#givenNavigation;
    if (!this.#navigator) {
      const { odom_topic: odom, tolerance_m: goalTolerance, odom_timeout_ms } = this.#settings.navigation;
      // In a sim slower than real time, /odom comes less often per wall second: the navigator's watchdogs stretch to
      // match.
      this.#navigator = new Navigator({
        bus: this.#ctx.bus,
        codec: this.#codec,
        topics: { cmdVel: AGENT_NAV_CMD_VEL, odom },
        follow: { goalTolerance },
        timeScale: this.#timeScale,
        safety: { odomTimeoutMs: odom_timeout_ms },
      });
      this.#gate.forward(AGENT_NAV_CMD_VEL, 'agent-gate');
      this.#navigator.start();
    }
    return this.#navigator;
  }

  #onIntentMessage(type: string, data: Uint8Array): void {
    if (type !== 'std_msgs/msg/String')
      return this.#intentProblem('type', { type }, 'intent topic must carry std_msgs/msg/String JSON; message ignored');
    let raw: unknown;
    try {
      raw = JSON.parse(this.#codec.decode<{ data: string }>(type, data).data);
    } catch (error) {
      return this.#intentProblem('not_json', { err: (error as Error).message }, 'intent message is not JSON; ignored');
    }
    this.submitIntent(raw, 'ros').catch((error: unknown) => {
      // Keyed by the kind of refusal: a flood of invalid intents must not hide the first one the journal refused.
      const { name, code } = error as Error & { code?: unknown };
      this.#intentProblem(
        `refused:${name}:${typeof code === 'string' ? code : ''}`,
        { err: (error as Error).message },
        'intent from the topic refused',
      );
    });
  }

  /**
   * Whoever publishes on the intent topic can send garbage a hundred times a second: the first of each kind
   * of problem is logged, then one line a minute at most, with the count held back (`suppressed`).
   */
  #intentProblem(key: string, fields: Record<string, unknown>, message: string): void {
    const held = this.#intentLog.take(key);
    if (held !== undefined)
      this.#ctx.log.warn(withSuppressed({ topic: this.#settings.intent_topic, ...fields }, held), message);
  }
}

/** Robot seconds per wall second: the sim's speed when the sim runs, else 1 (a real robot). */
function timeScaleOf(config: EdgeConfig): number {
  return config.sim.enabled ? config.sim.speed : 1;
}

/** The run of an intent sent again, or a conflict when the second one asks for something else. */
function sameIntent(first: Intent, again: Intent, run: RunState): RunState {
  const differ = intentDifferences(first, again);
  if (differ.length > 0) {
    throw new AgentError(
      'conflict',
      `intent_id ${again.intent_id} already used with different ${differ.join('/')} (run ${run.run_id}): send a new intent_id, or the same intent to get that run`,
    );
  }
  return run;
}
