// Over 400 lines because it is the real-time thread whole: the tick path (gather, infer or pop, emit) reads best in
// one place, and each of its jobs (board, chunker, reports, camera inputs, state, tick schedule) is already a module.
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { ActionChunker, type ActionSource } from '../action-chunker.ts';
import { TemporalEnsembler } from '../temporal-ensembler.ts';
import type { CommandBuilder } from '../action-command.ts';
import { policyModelInfo } from '../remote/remote-spec.ts';
import { PolicyRunner, type PolicyInputs } from '../policy-runner.ts';
import { resolvePolicySpec, type PolicySpec } from '../policy-spec.ts';
import type { Twist } from '../../motion/index.ts';
import { ZERO_TWIST } from '../../motion/index.ts';
import { isFiniteAction, velocityFrame } from './command-safety.ts';
import { compileLoopCommand, planLoop, type LoopPlan } from './loop-plan.ts';
import type { InferenceReply, InferenceRequest, LoopWorkerData, LoopWorkerMessage } from './loop-protocol.ts';
import { LoopReports } from './loop-reports.ts';
import { LoopState } from './loop-state.ts';
import { ObservationBoard } from './observation-board.ts';
import { CameraInputs } from './camera-inputs.ts';
import { mapSharedFile, setNonBlocking } from './shared-mapping.ts';
import { CommandRecordWriter } from './command-records.ts';
import { CommandEncoder } from './command-encoder.ts';
import { ArmCommand, Framed } from './arm-command.ts';
import { applyThreadScheduling, errorText } from '../../util/index.ts';
import { collectGarbage } from './collect-garbage.ts';
import { monotonicMs } from './loop-clock.ts';
import { TickSchedule } from './tick-schedule.ts';
import { RequestLead } from './request-lead.ts';
import { nowNs } from '../../util/index.ts';
import { HaltLine } from '../../halt/index.ts';

/**
 * A control loop's thread. It sleeps on the shared stop flag until each tick is due, reads the latest
 * observations from the board, runs the policy (or pops a queued action of a chunk), and posts the command
 * bytes to the main thread, which publishes them. It never waits on the main thread: a stale observation
 * makes it send the safe action; a late chunk is an underrun.
 */
const data = workerData as LoopWorkerData;
const port = parentPort!;
const post = (m: LoopWorkerMessage): void => port.postMessage(m);
const state = new LoopState(data.topicCount, data.stateBuffer);
/** The latest observations: the daemon's board, or (a loop process's) the board file mapped in setup(). */
let board: ObservationBoard;
/** A loop process's command pipe: commands go there as records, not posted to this process's main thread. */
let commandPipe: CommandRecordWriter | undefined;
/** The cameras' latest frames, shaped as the plan's images (the same plan the main thread made). */
let cameras: CameraInputs | undefined;
/** The daemon's stop line: a stop holds this loop from its next tick, before the main thread hears of it. */
const haltLine = data.haltLine ? new HaltLine(data.haltLine) : undefined;

interface Inference {
  /** Step and inline: runs the policy here. */
  runner?: PolicyRunner;
  /** Async: the port to the inference thread (which the main thread runs): requests go out, chunks come back. */
  channel?: MessagePort;
}

interface Setup {
  spec: PolicySpec;
  plan: LoopPlan;
  inference: Inference;
  build: CommandBuilder | undefined;
  arm: ArmCommand | undefined;
}

async function setup(): Promise<Setup> {
  const spec = resolvePolicySpec(data.policyName, data.policy, policyModelInfo(data.policyName, data.policy));
  const plan = planLoop(data.name, data.loop, spec);
  // A loop process's board and frames are files it maps here: memory it shares with the daemon's process.
  const boardBuffer = data.boardFile ? await mapSharedFile(data.boardFile) : data.boardBuffer;
  board = new ObservationBoard({ lengths: data.boardLengths }, boardBuffer);
  const frames = data.frameFiles ? await Promise.all(data.frameFiles.map((f) => mapSharedFile(f))) : data.frameBuffers;
  cameras = new CameraInputs(plan.images, frames);
  if (data.commandFd !== undefined) {
    await setNonBlocking(data.commandFd);
    commandPipe = new CommandRecordWriter(data.commandFd, plan.output.dim);
  }
  const build = compileLoopCommand(data.policyName, plan);
  const { command, dim, name } = plan.output;
  const arm =
    plan.arm && command
      ? new ArmCommand(plan.arm, command, dim, data.joints, `policies.${data.policyName}.outputs.${name}.command`)
      : undefined;
  if (plan.mode !== 'async')
    return { spec, plan, inference: { runner: await PolicyRunner.open(data.policyName, data.policy) }, build, arm };
  // The main thread loaded the session in the inference thread before it started this one.
  if (!data.inference) throw new Error('async chunking without a port to the inference thread');
  return { spec, plan, inference: { channel: data.inference }, build, arm };
}

async function main(): Promise<void> {
  let setupResult: Setup;
  try {
    setupResult = await setup();
  } catch (error) {
    post({ kind: 'fatal', message: errorText(error) });
    return;
  }
  const loop = new LoopThread(setupResult);
  // Before `ready`: the main thread counts a loop alive from its start until the first tick.
  state.set('started_ms', monotonicMs());
  const { scheduling: policy, rt_priority: rtPriority, nice, cpu_affinity: cpus } = data.loop;
  const scheduling = applyThreadScheduling({ policy, rtPriority, nice, cpus });
  const { mode, chunkSize, output } = setupResult.plan;
  // The first run's cost and the start's garbage are paid now, not in the first ticks.
  await setupResult.inference.runner?.warmUp();
  collectGarbage();
  post({ kind: 'ready', mode, chunkSize, dim: output.dim, tid: scheduling.tid, scheduling: scheduling.summary });
  await loop.runUntilClosed();
  await loop.close();
  post({ kind: 'stopped' });
}

/** The policy's input buffers, filled in place each tick; their constant slices set once here. */
function inputBuffers(spec: PolicySpec): PolicyInputs {
  const inputs: PolicyInputs = {};
  for (const input of spec.inputs) {
    if (input.recurrent !== undefined) continue;
    const buf = input.dtype === 'uint8' ? new Uint8Array(input.size) : new Float32Array(input.size);
    for (const s of input.sources) if (s.kind === 'constant') buf.set(s.settings.constant!, s.offset);
    inputs[input.name] = buf;
  }
  return inputs;
}

/**
 * The loop's ticks at a fixed rate: each reads the board, acts (a policy run or a chunk's next action) and
 * emits a command. Nothing in a tick allocates but the command it posts, and nothing waits on the main thread.
 */
class LoopThread {
  readonly #plan: LoopPlan;
  readonly #inference: Inference;
  readonly #build: CommandBuilder | undefined;
  readonly #encoder: CommandEncoder | undefined;
  readonly #periodMs = 1000 / data.loop.rate_hz;
  readonly #inputs: PolicyInputs;
  readonly #previousSlices: { input: string; s: PolicySpec['inputs'][number]['sources'][number] }[];
  readonly #chunker: ActionSource | undefined;
  readonly #staleNow: boolean[];
  readonly #staleSeen: boolean[];
  /** Per topic, the age (ms) of its message this tick; NaN: none ever came. */
  readonly #ages: number[];
  readonly #reports: LoopReports;
  readonly #frame: ReturnType<typeof velocityFrame>;
  readonly #latchZero: boolean;
  /** The last action popped from a chunk, and when (#heldAtMs[0], monotonic ms): what on_underrun: hold holds. */
  #held: Float32Array | undefined;
  /** In a typed array, as TickSchedule keeps its times: set each tick that pops, it is never a new heap number. */
  readonly #heldAtMs = new Float64Array(1);
  readonly #schedule: TickSchedule;
  /** A thread's command message, posted (cloned) every tick: the action's values are copied into #values first. */
  readonly #command: Extract<LoopWorkerMessage, { kind: 'command' }>;
  readonly #values: Float32Array;
  #errors = 0;
  #nonFinite = 0;
  #unmeasured = 0;
  /** A joint position command's measured joints, hold and joint frame, when it names its joints. */
  readonly #arm: ArmCommand | undefined;
  #outsideLimits = 0;
  /** When a joint_limit problem was last reported (monotonic ms), in a typed array: no heap number a tick. */
  readonly #limitReportedMs = new Float64Array([Number.NEGATIVE_INFINITY]);
  /**
   * The request in flight to the inference thread: when it went out (monotonic ms) and whether it has been
   * counted overdue. A run can't be interrupted (see closeWorker), so an overdue one is only reported; the
   * queue runs dry meanwhile and the robot gets the on_underrun action, as it would from a slow policy.
   */
  #request: { sentMs: number; overdue: boolean; logged: boolean } | undefined;
  readonly #timeoutMs = data.loop.chunking.inference_timeout_ms;
  #overdue = 0;
  /** A remote policy's lead (RequestLead): set on its chunker after each chunk; undefined for a local policy. */
  readonly #lead: { lead: RequestLead; chunker: ActionChunker } | undefined;
  /** No request before this (monotonic ms): a remote policy's link is not up, and says when to ask again. */
  readonly #retryAtMs = new Float64Array(1);
  /** The episodes begun that this loop has seen (state.episodesBegun). */
  #episode = state.episodesBegun;
  /** Whether a chunk's action has gone out since the last reset: until one has, a begin adds nothing to it. */
  #actedSinceReset = true;

  constructor({ spec, plan, inference, build, arm }: Setup) {
    this.#plan = plan;
    this.#inference = inference;
    this.#build = build;
    const { command } = plan.output;
    this.#encoder =
      command && data.commandDefinitions ? new CommandEncoder(command.type, data.commandDefinitions) : undefined;
    this.#values = new Float32Array(plan.output.dim);
    this.#command = { kind: 'command', data: new Uint8Array(0), values: this.#values, safe: false };
    this.#inputs = inputBuffers(spec);
    this.#previousSlices = spec.inputs.flatMap((input) =>
      input.sources.filter((s) => s.kind === 'previous_output').map((s) => ({ input: input.name, s })),
    );
    const { threshold, aggregate, n_action_steps: actionSteps, temporal_ensemble_coeff: coeff } = data.loop.chunking;
    const chunker =
      plan.mode === 'step' || coeff !== undefined
        ? undefined
        : new ActionChunker({ chunkSize: plan.chunkSize, threshold, aggregate, actionSteps });
    this.#chunker =
      coeff !== undefined && plan.mode !== 'step'
        ? new TemporalEnsembler({ chunkSize: plan.chunkSize, coeff })
        : chunker;
    this.#lead = data.policy.remote && chunker ? { lead: new RequestLead(this.#periodMs), chunker } : undefined;
    this.#staleNow = new Array<boolean>(plan.topics.length).fill(false);
    this.#staleSeen = new Array<boolean>(plan.topics.length).fill(false);
    this.#ages = new Array<number>(plan.topics.length).fill(Number.NaN);
    this.#reports = new LoopReports({ post, slots: plan.topics, intervalMs: data.logIntervalMs });
    this.#schedule = new TickSchedule(state, this.#periodMs);
    this.#frame = velocityFrame(plan.output.command, data.velocity);
    this.#latchZero = plan.output.command?.type === 'geometry_msgs/msg/Twist';
    this.#arm = arm;
  }

  /**
   * Ticks on schedule until the stop flag is set. The ticks run in #runTicks, a plain method, and this async one
   * only waits for a tick that runs the policy here: V8 boxes a number that an async function's loop holds, or that
   * code inlined into it computes, a heap allocation a tick.
   */
  async runUntilClosed(): Promise<void> {
    const schedule = this.#schedule;
    schedule.begin();
    let due = schedule.awaitTick();
    while (due) {
      const running = this.#runTicks();
      if (!running) return;
      try {
        await running;
      } catch (error) {
        this.#failTick(error);
      }
      due = this.#nextTick();
    }
  }

  /**
   * Runs the tick that is due and those after it, until one runs the policy here (its promise is returned, the tick
   * to be finished once it settles) or a stop is requested (undefined).
   */
  #runTicks(): Promise<void> | undefined {
    for (;;) {
      try {
        const running = this.#tick();
        if (running) return running;
      } catch (error) {
        this.#failTick(error);
      }
      if (!this.#nextTick()) return undefined;
    }
  }

  /** Records the tick that ran and sleeps until the next is due; false when a stop was requested. */
  #nextTick(): boolean {
    const counters = this.#chunker?.counters;
    if (counters) {
      state.set('underruns', counters.underruns);
      state.set('late', counters.late);
    }
    this.#reports.tick();
    this.#schedule.finish();
    return this.#schedule.awaitTick();
  }

  /** Leaves the robot in a safe state (one safe command on the way out) and lets go of the policy. */
  async close(): Promise<void> {
    this.#emit(this.#plan.safeAction, true);
    this.#reports.flush();
    await this.#inference.runner?.close();
    // The inference thread is the main thread's: it asks it to close once this thread has stopped, and
    // leaves it to finish a run in flight (never terminated inside one, see closeWorker).
    this.#inference.channel?.close();
  }

  /** One tick; a promise only when the policy runs in it (step, inline), so that one that pops allocates none. */
  #tick(): Promise<void> | undefined {
    const plan = this.#plan;
    const chunker = this.#chunker;
    if (state.episodesBegun !== this.#episode) this.#beginEpisode(chunker);
    this.#pollReplies();
    this.#checkOverdue();
    if (!this.#gather()) {
      state.add('stale');
      chunker?.clear();
      this.#held = undefined;
      this.#emit(plan.safeAction, true);
      return;
    }
    if (!chunker) return this.#step(this.#inference.runner!);
    if (state.inferenceDead) {
      // No chunk will come: the robot gets the safe action, not the rest of an old plan nor nothing
      // (on_underrun: skip), until the control component restarts the loop.
      chunker.clear();
      this.#held = undefined;
      this.#emit(plan.safeAction, true);
      return;
    }
    if (this.#inference.runner && chunker.wantsObservation()) return this.#planInline(this.#inference.runner, chunker);
    this.#emitNextAction(chunker);
    const channel = this.#inference.channel;
    if (channel && this.#schedule.now[0]! >= this.#retryAtMs[0]! && chunker.wantsObservation())
      this.#requestChunk(channel, chunker);
    return undefined;
  }

  /**
   * An episode began (control.loops.<name>.episodes): the actions planned in the one before are dropped, queued or in
   * flight, and the next tick plans from its observation, as LeRobot resets its policy for each episode. A flood of
   * marks cannot keep the robot waiting on plan after plan: until an action of the new plan has gone out, another
   * begin is taken as part of the same one.
   */
  #beginEpisode(chunker: ActionSource | undefined): void {
    this.#episode = state.episodesBegun;
    if (!chunker || !this.#actedSinceReset) return;
    chunker.reset();
    this.#held = undefined;
    this.#actedSinceReset = false;
    state.add('episodes');
  }

  /** Step: the policy's action for this tick's observation. */
  async #step(runner: PolicyRunner): Promise<void> {
    const outputs = await this.#runHere(runner);
    this.#emit(outputs[this.#plan.output.name]!.data, false);
  }

  /**
   * Inline: the chunk is planned from this tick's observation, before this tick's action: its first
   * action is for the timestep this tick executes, which it then emits.
   */
  async #planInline(runner: PolicyRunner, chunker: ActionSource): Promise<void> {
    const t = chunker.observationSent(true);
    try {
      const outputs = await this.#runHere(runner);
      const o = outputs[this.#plan.output.name]!;
      chunker.receive(t, o.data, o.dim);
      state.add('chunks');
    } catch (error) {
      chunker.observationFailed();
      throw error;
    }
    this.#emitNextAction(chunker);
  }

  /** The chunk's next action, or on underrun what on_underrun says. */
  #emitNextAction(chunker: ActionSource): void {
    const next = chunker.pop();
    if (next) {
      this.#emit(next.action, false);
      this.#actedSinceReset = true;
      this.#held = next.action;
      this.#heldAtMs[0] = this.#schedule.now[0]!;
    } else if (data.loop.on_underrun !== 'skip') {
      // A held action grows old as an observation does: past max_observation_age_ms (a hung or slow
      // inference) the robot gets the safe action, not a command planned that long ago.
      const held = this.#held;
      const heldMs = this.#schedule.now[0]! - this.#heldAtMs[0]!;
      if (data.loop.on_underrun === 'hold' && held && heldMs <= data.loop.max_observation_age_ms)
        this.#emit(held, false);
      else this.#emit(this.#plan.safeAction, true);
    }
  }

  /**
   * Async, in LeRobot's client's order: this tick's action first, then the queue as it is now decides,
   * and the observation (taken at the tick's start) is stamped with the timestep just executed.
   */
  #requestChunk(channel: MessagePort, chunker: ActionSource): void {
    channel.postMessage({
      timestep: chunker.observationSent(),
      inputs: this.#snapshotInputs(),
    } satisfies InferenceRequest);
    this.#request = { sentMs: this.#schedule.now[0]!, overdue: false, logged: false };
    state.set('inference_sent_ms', this.#request.sentMs);
  }

  /**
   * Posts an action's command bytes, with the operator's latch, the finite check and the velocity frame applied. A
   * safe command is the plan's safe action, or for a joint position command the hold of the measured position.
   */
  #emit(given: Float32Array, givenSafe: boolean): void {
    let action: Float32Array | undefined = given;
    let safe = givenSafe;
    // The main thread's word (state.held), or the stop line's, read here each tick: a stop from the stop listener
    // holds the loop with no message from the main thread, however busy that is.
    const held = state.held || haltLine?.holds === true;
    // A latched operator's stop: the policy goes on (its chunks stay current), the robot gets the safe action.
    if (!safe && held) {
      state.add('held');
      safe = true;
    }
    if (!safe && !isFiniteAction(action)) {
      this.#nonFinite++;
      state.add('non_finite');
      this.#reports.problem({ kind: 'non_finite', values: Array.from(action), count: this.#nonFinite });
      safe = true;
    }
    const arm = this.#arm;
    const now = this.#schedule.now[0]!;
    let measuredHold = false;
    if (!safe) arm?.release();
    else if (arm?.holds) {
      action = arm.holdAction(board, now);
      if (!action) return this.#holdUnmeasured(arm);
      measuredHold = true;
    } else action = this.#plan.safeAction;
    state.add('published');
    const build = this.#build;
    const encoder = this.#encoder;
    if (!build || !encoder) return;
    let message = build(action, nowNs, this.#periodMs / 1000);
    // While latched a Twist goes out as zero, whatever the safe action: one that moves
    // (allow_moving_safe_action) is for stale observations, not for a robot an operator stopped.
    if (held && this.#latchZero) message = ZERO_TWIST;
    else if (this.#frame) {
      const limited = this.#frame(message as Twist);
      if (limited.clamped) state.add('clamped');
      message = limited.twist;
    } else if (arm && !measuredHold) {
      // A hold of the measured position is where the arm is: the joint frame holds everything else.
      const framed = arm.frame(message, board, now);
      if (framed === Framed.Unmeasured) return this.#holdUnmeasured(arm);
      if (framed !== Framed.Within) this.#outsideJointLimits(arm, framed === Framed.Refused);
      // Refused: the robot gets the safe command in its place (a safe command refused gets nothing).
      if (framed === Framed.Refused) return safe ? undefined : this.#emit(this.#plan.safeAction, true);
    }
    this.#send(encoder.encode(message), action, safe);
  }

  /**
   * No fresh measured position of the joints, for a hold or for the joint frame's step: nothing is sent (the
   * controller keeps the last target it took), reported as hold_unmeasured.
   */
  #holdUnmeasured(arm: ArmCommand): void {
    this.#unmeasured++;
    this.#reports.problem({
      kind: 'hold_unmeasured',
      topic: arm.topic,
      joints: [...arm.joints],
      count: this.#unmeasured,
    });
  }

  /** A joint command outside motion.joints: counted as clamped, and reported with its first violation. */
  #outsideJointLimits(arm: ArmCommand, refused: boolean): void {
    this.#outsideLimits++;
    state.add('clamped');
    // A policy that asks past a limit every tick is clamped every tick: its report (text and all) is made once a
    // second at most, not each tick; the counter counts each.
    const now = this.#schedule.now[0]!;
    if (now - this.#limitReportedMs[0]! < 1000) return;
    this.#limitReportedMs[0] = now;
    this.#reports.problem({
      kind: 'joint_limit',
      violation: arm.violation() ?? 'outside the joint limits',
      refused,
      count: this.#outsideLimits,
    });
  }

  #send(bytes: Uint8Array, action: Float32Array, safe: boolean): void {
    if (commandPipe) {
      if (!commandPipe.write(bytes, action, safe)) this.#fail(new Error('command dropped: the daemon is not reading'));
      return;
    }
    // Cloned, not transferred: the bytes are the encoder's and the values this thread's, both rewritten next tick,
    // and the main thread (the bus, the recorder) gets a copy of its own. Both are whole buffers, so the clone
    // copies only them.
    const command = this.#command;
    this.#values.set(action);
    command.data = bytes;
    command.safe = safe;
    post(command);
  }

  /** A tick that threw: counted and reported, and the robot gets the safe action for it. */
  #failTick(error: unknown): void {
    this.#fail(error);
    this.#emit(this.#plan.safeAction, true);
  }

  #fail(error: unknown): void {
    this.#errors++;
    state.add('errors');
    // A broken input at 1 kHz must not flood the log: LoopReports lets a line a minute through.
    this.#reports.problem({ kind: 'error', message: errorText(error), count: this.#errors });
  }

  /** Reads the board; true when every topic slice is fresh. Staleness is counted and reported per topic. */
  #gather(): boolean {
    const inputs = this.#inputs;
    const staleSeen = this.#staleSeen;
    const staleNow = this.#staleNow;
    const ages = this.#ages;
    const now = this.#schedule.now[0]!;
    staleSeen.fill(false);
    // Indexed, not for-of: an array iterator a tick is garbage until the loop's code is fully optimized.
    const slots = this.#plan.slots;
    for (let k = 0; k < slots.length; k++) {
      const slot = slots[k]!;
      const t = board.read(slot.slot, inputs[slot.input] as Float32Array, slot.offset);
      const age = now - t;
      if (Number.isNaN(t) || age > slot.maxAgeMs) staleSeen[slot.topicIndex] = true;
      ages[slot.topicIndex] = age;
    }
    cameras?.gather(inputs, now, staleSeen, ages);
    let fresh = true;
    for (let i = 0; i < staleSeen.length; i++) {
      const stale = staleSeen[i]!;
      const age = ages[i]!;
      if (stale) {
        fresh = false;
        state.staleBySource[i]!++;
        if (!staleNow[i]) this.#reports.transition(i, true, Number.isNaN(age) ? null : Math.round(age));
      } else if (staleNow[i]) {
        this.#reports.transition(i, false, Math.round(age));
      }
      staleNow[i] = stale;
    }
    return fresh;
  }

  #snapshotInputs(): PolicyInputs {
    return Object.fromEntries(Object.entries(this.#inputs).map(([k, v]) => [k, v.slice()]));
  }

  /**
   * Runs the policy in this thread (step and inline): previous_output slices first take the last run's outputs. A
   * camera whose frame has not changed since the last run is left as the runner holds it, normalized: a 3 x 224 x 224
   * frame copied, checked and normalized again each tick cost 0.4 ms at 50 Hz for a 30 Hz camera.
   */
  async #runHere(runner: PolicyRunner): ReturnType<PolicyRunner['run']> {
    const inputs = this.#inputs;
    const slices = this.#previousSlices;
    for (let k = 0; k < slices.length; k++) {
      const { input, s } = slices[k]!;
      inputs[input]!.set(runner.previousOutput(s.settings.previous_output!, s.length), s.offset);
    }
    const outputs = await runner.run(inputs, undefined, { unchanged: cameras?.unchanged() });
    cameras?.ran();
    return outputs;
  }

  #checkOverdue(): void {
    const request = this.#request;
    if (!request || request.overdue) return;
    const waitedMs = this.#schedule.now[0]! - request.sentMs;
    const limitMs = this.#timeoutMs;
    if (waitedMs <= limitMs) return;
    request.overdue = true;
    this.#overdue++;
    state.add('inference_overdue');
    request.logged = this.#reports.problem({
      kind: 'inference_overdue',
      waitedMs: Math.round(waitedMs),
      limitMs,
      count: this.#overdue,
    });
  }

  /** Takes the inference thread's replies (chunks or errors) that came since the last tick, without waiting. */
  #pollReplies(): void {
    const channel = this.#inference.channel;
    const chunker = this.#chunker;
    if (!channel || !chunker) return;
    for (let m = receiveMessageOnPort(channel); m; m = receiveMessageOnPort(channel)) {
      const reply = m.message as InferenceReply;
      // Said only of a chunk whose overdue line was logged, so the two pair up.
      if (this.#request?.logged)
        post({ kind: 'inference_late', tookMs: Math.round(monotonicMs() - this.#request.sentMs) });
      const sentMs = this.#request?.sentMs;
      this.#request = undefined;
      state.set('inference_sent_ms', 0);
      if (reply.kind === 'chunk') {
        chunker.receive(reply.timestep, reply.data, reply.dim);
        state.add('chunks');
        const lead = this.#lead;
        if (lead && sentMs !== undefined) lead.chunker.lead = lead.lead.record(this.#schedule.now[0]! - sentMs);
      } else if (reply.kind === 'error') {
        chunker.observationFailed();
        if (reply.retryInMs) this.#retryAtMs[0] = this.#schedule.now[0]! + reply.retryInMs;
        this.#fail(new Error(`inference failed: ${reply.message}`));
      }
    }
  }
}

// No top-level await: workers load their entry as CommonJS (see daemon/util/spawn-worker.ts). A rejection still
// ends the thread with an 'error' event, as an uncaught error.
void main();
