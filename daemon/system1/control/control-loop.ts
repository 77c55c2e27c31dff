// Over 400 lines because a loop's lifecycle (start, crash and restart, close with its safe action) is one, whether a
// thread or a process runs it; the runner, intake, state and metrics are modules of their own.
import type { DecodePool } from '../vision/decode-pool.ts';
import type { MessagePort } from 'node:worker_threads';
import type { HeapInfo } from 'node:v8';
import type { Logger } from 'pino';
import { distrustedState } from '../../motion/index.ts';
import { policyModelInfo } from '../remote/remote-spec.ts';
import type { RemoteStatus } from '../remote/remote-status.ts';
import { resolvePolicySpec } from '../policy-spec.ts';
import type { Bus, Publisher } from '../../bus/index.ts';
import type { DefinitionsRegistry } from '../../bus/index.ts';
import type { LoopSettings, PolicySettings } from '../../config/index.ts';
import { closeWorker, errorText } from '../../util/index.ts';
import { defaultVelocityLimits, type VelocityLimits } from './command-safety.ts';
import { LoopCrash, type ControlLoopOptions, type ControlLoopStats } from './control-loop-types.ts';
import { LoopInference, type LoopInferenceOptions } from './loop-inference.ts';
import { monotonicMs } from './loop-clock.ts';
import type { LoopJointLimits } from './arm-command.ts';
import { CommandListeners } from './command-listeners.ts';
import { boardLengths, planLoop, type LoopPlan } from './loop-plan.ts';
import { LoopProcess } from './loop-process.ts';
import type { LoopProcessData, LoopWorkerMessage } from './loop-protocol.ts';
import { spawnLoopThread, type LoopRunner } from './loop-runner.ts';
import { LoopState } from './loop-state.ts';
import { ObservationBoard } from './observation-board.ts';
import { ObservationIntake } from './observation-intake.ts';
import { RelayedBoard } from './relayed-board.ts';
import { logWorkerReport } from './worker-report-log.ts';

export { LoopCrash, type ControlLoopOptions, type ControlLoopStats } from './control-loop-types.ts';

const CLOSE_TIMEOUT_MS = 2000;
const LOG_INTERVAL_MS = 60_000;

/**
 * One fixed-rate control loop, run by a worker thread so the daemon's event loop never delays a tick, or (isolation:
 * process) by a child process of its own, LoopProcess, out of reach of the daemon's garbage collection too. This side,
 * on the main thread, turns bus messages into observations on a shared board (decoding only the fields the policy
 * reads) and publishes the commands the worker posts back.
 * Nothing here is awaited by the worker: if this thread stalls, observations grow old and the worker sends
 * the safe action.
 */
export class ControlLoop {
  readonly name: string;
  readonly #loop: LoopSettings;
  readonly #policyName: string;
  readonly #policy: PolicySettings;
  readonly #bus: Bus;
  readonly #definitions: DefinitionsRegistry;
  readonly #log: Logger;
  readonly #livenessTimeoutMs: number | undefined;
  readonly #onCommand: ControlLoopOptions['onCommand'];
  readonly #velocity: VelocityLimits;
  readonly #joints: ControlLoopOptions['joints'];
  readonly #graph: ControlLoopOptions['graph'];
  readonly #robot: ControlLoopOptions['robot'];
  readonly #onCrash: ControlLoopOptions['onCrash'];
  readonly #refusal: ControlLoopOptions['refusal'];
  readonly #haltLine: ControlLoopOptions['haltLine'];
  readonly #inferenceWorker: URL | undefined;
  readonly #graphQueries: ControlLoopOptions['graphQueries'];
  readonly #logIntervalMs: number;
  readonly #decodePool: DecodePool | undefined;
  #plan: LoopPlan | undefined;
  #state: LoopState | undefined;
  #worker: LoopRunner | undefined;
  #process: LoopProcess | undefined;
  #inference: LoopInference | undefined;
  /** The crash reported (or, while starting, the one that fails the start). */
  #crash: LoopCrash | undefined;
  #intake: ObservationIntake | undefined;
  #listeners: CommandListeners | undefined;
  #publisher: Publisher | undefined;
  #mode = 'starting';
  #scheduling = '';
  #tid = 0;
  #closed: Promise<void> | undefined;
  #exited = false;
  #starting = false;
  #leftBus = false;

  constructor(options: ControlLoopOptions) {
    const {
      name,
      loop,
      policyName,
      policy,
      bus,
      definitions,
      log,
      livenessTimeoutMs,
      onCommand,
      onCrash,
      refusal,
      inferenceWorker,
    } = options;
    const { velocity = defaultVelocityLimits(), logIntervalMs = LOG_INTERVAL_MS } = options;
    this.name = name;
    this.#loop = loop;
    this.#policyName = policyName;
    this.#policy = policy;
    this.#bus = bus;
    this.#definitions = definitions;
    this.#log = log;
    this.#livenessTimeoutMs = livenessTimeoutMs;
    this.#onCommand = onCommand;
    this.#velocity = velocity;
    this.#joints = options.joints;
    this.#graph = options.graph;
    this.#robot = options.robot;
    this.#onCrash = onCrash;
    this.#refusal = refusal;
    this.#haltLine = options.haltLine;
    this.#inferenceWorker = inferenceWorker;
    this.#graphQueries = options.graphQueries;
    this.#logIntervalMs = logIntervalMs;
    this.#decodePool = options.decodePool;
  }

  async start(): Promise<void> {
    this.#starting = true;
    try {
      await this.#start();
    } finally {
      this.#starting = false;
    }
  }

  /** Plans the loop, starts its threads (the inference thread first, when async), and subscribes once ready. */
  async #start(): Promise<void> {
    const { name } = this;
    const spec = resolvePolicySpec(this.#policyName, this.#policy, policyModelInfo(this.#policyName, this.#policy));
    const plan = planLoop(name, this.#loop, spec);
    this.#plan = plan;
    const isolated = this.#loop.isolation === 'process';
    const layout = { lengths: boardLengths(plan) };
    const board = isolated
      ? new RelayedBoard(layout, (slot, values, timeMs) => this.#process?.observation(slot, values, timeMs))
      : new ObservationBoard(layout);
    const intake = new ObservationIntake({
      name,
      policyName: this.#policyName,
      plan,
      board,
      bus: this.#bus,
      definitions: this.#definitions,
      log: this.#log,
      logIntervalMs: this.#logIntervalMs,
      distrust: this.#robot && ((msg) => distrustedState(this.#robot!.measured, msg)),
      decodePool: this.#decodePool,
      episodes:
        this.#loop.episodes === undefined ? undefined : { topic: this.#loop.episodes, onBegin: () => this.#begin() },
    });
    this.#intake = intake;
    const state = new LoopState(plan.topics.length);
    this.#state = state;
    // A loop process runs its inference thread itself.
    const inferencePort = plan.mode === 'async' && !isolated ? await this.#startInference(plan) : undefined;

    const command = plan.output.command;
    const commandDefinitions = command ? this.#definitions.resolve(command.type).definitions : undefined;
    if (command) this.#publisher = this.#bus.advertise(command.topic, command.type, { source: `control:${name}` });
    const graph = this.#graph;
    if (command && graph) this.#listeners = new CommandListeners(graph, command.topic, command.type, monotonicMs());

    const data = {
      name,
      policyName: this.#policyName,
      policy: this.#policy,
      loop: this.#loop,
      velocity: this.#velocity,
      ...(plan.arm ? this.#jointLimits() : {}),
      boardLengths: board.lengths,
      topicCount: plan.topics.length,
      commandDefinitions,
      logIntervalMs: this.#logIntervalMs,
    } satisfies LoopProcessData;
    const worker: LoopRunner = isolated
      ? await this.#startProcess(data, state, plan)
      : spawnLoopThread({
          ...data,
          stateBuffer: state.buffer,
          haltLine: this.#haltLine,
          boardBuffer: board.buffer as SharedArrayBuffer,
          frameBuffers: intake.frameBuffers,
          inference: inferencePort,
        });
    this.#worker = worker;
    await this.#ready(worker);
    this.#watchForCrash(worker);
    // A loop process's cameras go to the files it maps; a thread's to the slots it was given.
    intake.subscribe(this.#process?.frameSinks);
    const topics = plan.topics.map((t) => t.topic);
    this.#log.info(
      {
        loop: name,
        policy: this.#policyName,
        rate_hz: this.#loop.rate_hz,
        mode: this.#mode,
        tid: this.#tid,
        scheduling: this.#scheduling,
        chunk: plan.chunkSize,
        topics,
      },
      'control loop running',
    );
  }

  /** An episode's begin mark: the loop thread (or process) drops what it planned in the episode before. */
  #begin(): void {
    this.#state?.beginEpisode();
    this.#process?.beginEpisode();
  }

  /** motion.joints for the loop thread, as the limits are now; throws why there are none yet (the start fails). */
  #jointLimits(): { joints?: LoopJointLimits } {
    const joints = this.#joints;
    if (!joints) return {};
    const limits = joints.current();
    if (typeof limits === 'string') throw new Error(`control.loops.${this.name}: ${limits}`);
    return { joints: { limits: [...limits], settings: joints.settings } };
  }

  /** How the loop's inference side is made: for its thread (LoopInference.start), or beside its process. */
  #inferenceOptions(plan: LoopPlan): LoopInferenceOptions {
    return {
      policyName: this.#policyName,
      policy: this.#policy,
      output: plan.output.name,
      entry: this.#inferenceWorker,
      graphQueries: this.#graphQueries,
      onDeath: (error) => this.#crashed('inference', error.message),
    };
  }

  /**
   * An async loop's inference side, started before the loop thread, so a bad model fails the start, not the loop.
   * Returns the loop thread's end of their channel.
   */
  async #startInference(plan: LoopPlan): Promise<MessagePort> {
    const name = this.name;
    const { inference, port } = await LoopInference.start(this.#inferenceOptions(plan)).catch((error: unknown) => {
      throw new Error(`control loop ${name}: ${errorText(error)}`);
    });
    this.#inference = inference;
    // close() came while the model loaded: it found no thread to close, so this closes it.
    if (this.#closed) {
      port.close();
      await inference.close(CLOSE_TIMEOUT_MS);
      throw new Error(`control loop ${name}: stopped while starting`);
    }
    return port;
  }

  /** The loop's process (with a frame file per camera), its inference thread's death told as a thread's is. */
  async #startProcess(data: LoopProcessData, state: LoopState, plan: LoopPlan): Promise<LoopProcess> {
    const { images } = plan;
    const loop = await LoopProcess.start({ data, state, images, haltLine: this.#haltLine }).catch((error: unknown) => {
      this.#publisher?.close();
      throw new Error(`control loop ${this.name}: ${errorText(error)}`);
    });
    loop.on('inferenceDeath', (error) => this.#crashed('inference', error.message));
    this.#process = loop;
    if (plan.mode === 'async') this.#inference = LoopInference.forProcess(this.#inferenceOptions(plan), loop);
    return loop;
  }

  /** Asks the loop's thread (over the shared state) or process (over its channel) to send its safe action and end. */
  #requestClose(): void {
    if (this.#process) this.#process.requestClose();
    else this.#state?.requestClose();
  }

  /**
   * Waits for the loop thread's `ready` (its model loaded, its scheduling set). A loop that fails first is
   * taken down whole: its threads ended and its command topic let go.
   */
  async #ready(worker: LoopRunner): Promise<void> {
    const name = this.name;
    let isReady = false;
    const ready = new Promise<void>((resolve, reject) => {
      worker.on('message', (m: LoopWorkerMessage) => {
        if (m.kind === 'ready') {
          this.#mode = m.mode;
          this.#scheduling = m.scheduling;
          this.#tid = m.tid;
          isReady = true;
          resolve();
        } else if (m.kind === 'fatal') reject(new Error(`control loop ${name}: ${m.message}`));
        else this.#onMessage(m);
      });
      worker.once('error', (error) => reject(new Error(`control loop ${name}: worker failed: ${error.message}`)));
      worker.once('exit', (code) => {
        this.#exited = true;
        reject(new Error(`control loop ${name}: worker exited with code ${code} before it was ready`));
      });
    });
    worker.on('error', (error) => this.#log.error({ loop: name, err: error.message }, 'control loop worker failed'));
    try {
      await ready;
      // The inference thread died while the loop thread was loading.
      if (this.#crash) throw new Error(`control loop ${name}: ${this.#crash.message}`);
    } catch (error) {
      // A ready async loop runs no model in its own thread: asked to close, it sends the safe action and exits.
      if (isReady) await closeWorker(worker, () => this.#requestClose(), CLOSE_TIMEOUT_MS);
      await worker.terminate();
      await this.#inference?.close(CLOSE_TIMEOUT_MS);
      this.#publisher?.close();
      throw error;
    }
  }

  /** After `ready`, an error or exit of the loop thread not asked for by close() is a crash. */
  #watchForCrash(worker: LoopRunner): void {
    worker.on('error', (error) => this.#crashed('loop', error.message));
    worker.on('exit', (code) => this.#crashed('loop', `worker exited with code ${code}`));
  }

  /**
   * A thread died: the first death is the crash, reported once to onCrash (while starting, start() fails
   * with it instead). A dead inference thread leaves the loop thread ticking: it sends the safe action
   * until the loop is restarted, and the loop stays alive for the watchdog, since the loop frame still works.
   */
  #crashed(thread: 'loop' | 'inference', message: string): void {
    if (this.#crash || this.#closed) return;
    this.#crash = new LoopCrash(thread, message);
    if (thread === 'inference') this.#state?.markInferenceDead();
    if (!this.#starting) this.#onCrash?.(this.#crash);
  }

  /**
   * Whether the loop is held now (the latched stop, or after its release until an operator's start); tells the loop
   * thread when that changes, and logs it.
   */
  #heldNow(): boolean {
    const state = this.#state;
    const refusal = this.#refusal?.();
    const held = refusal !== undefined;
    if (state && state.held !== held) {
      state.setHeld(held);
      this.#process?.setHeld(held);
      if (held) this.#log.warn({ loop: this.name, reason: refusal }, 'control loop held at its safe action');
      else this.#log.warn({ loop: this.name }, 'control loop released: the policy drives again');
    }
    return held;
  }

  #onMessage(m: LoopWorkerMessage): void {
    if (m.kind !== 'command') return logWorkerReport(this.#log, this.name, m);
    // A thread left to finish its run after close() (see #close) may still send its last safe action.
    if (this.#leftBus) return;
    // Once close() is called only the safe action goes out: a policy command the thread posted before it
    // heard of the close would move the robot after the stop's zero Twist (the operator's stop).
    if (this.#closed && !m.safe) return;
    // A policy command the thread posted before it saw the latch goes no further either.
    if (this.#heldNow() && !m.safe) return;
    this.#publisher?.publish(m.data);
    this.#onCommand?.(m.values, m.safe);
  }

  /** The loop's process under isolation: process (the bench measures its channel); undefined for a thread. */
  get isolatedProcess(): LoopProcess | undefined {
    return this.#process;
  }

  /** True from start() until the worker is ready (or failed): the thread and its model are loading. */
  get starting(): boolean {
    return this.#starting;
  }

  /**
   * Alive: the worker ticked (or, before its first tick, became ready) within the liveness timeout. The
   * systemd watchdog is pinged only while it is. A loop still starting is not alive; callers that gate the
   * watchdog leave it out (see `starting`).
   */
  alive(nowMs = monotonicMs()): boolean {
    if (!this.#state || this.#exited) return false;
    const heartbeat = this.#state.get('heartbeat_ms') || this.#state.get('started_ms');
    const timeout = Math.max(this.#livenessTimeoutMs ?? 1000, (3 * 1000) / this.#loop.rate_hz);
    return heartbeat > 0 && nowMs - heartbeat <= timeout;
  }

  stats(): ControlLoopStats {
    const snapshot = this.#state?.snapshot();
    if (!snapshot) throw new Error(`control loop ${this.name} has not started`);
    const waiting =
      snapshot.inferenceSentMs > 0 ? Math.max(0, Math.round(monotonicMs() - snapshot.inferenceSentMs)) : 0;
    const limit = this.#loop.chunking.inference_timeout_ms;
    const overdue =
      waiting > limit
        ? `inference overdue: no chunk for ${waiting} ms (chunking.inference_timeout_ms: ${limit})`
        : undefined;
    const remote = this.remote();
    const unreachable =
      remote && remote.state !== 'up'
        ? `remote policy ${remote.endpoint} is ${remote.state}: ${remote.reason}`
        : undefined;
    return {
      ...snapshot,
      name: this.name,
      policy: this.#policyName,
      rateHz: this.#loop.rate_hz,
      mode: this.#mode,
      scheduling: this.#scheduling,
      tid: this.#tid,
      chunkSize: this.#plan?.chunkSize ?? 1,
      topics: this.#plan?.topics.map((t) => t.topic) ?? [],
      observationErrors: this.#intake?.errors ?? 0,
      decodesAbandoned: this.#intake?.decodesAbandoned ?? 0,
      measuredTaken: this.#intake?.measuredTaken ?? 0,
      // Not while it starts (no observation is due yet) nor once closed.
      blind: this.#starting || this.#closed ? undefined : this.#intake?.blind(),
      unheard: this.#starting || this.#closed ? undefined : this.#listeners?.unheard(monotonicMs()),
      observations: this.#intake?.observations() ?? [],
      alive: this.alive(),
      starting: this.#starting,
      fault: this.#crash?.message ?? unreachable ?? overdue,
      ...(remote ? { remote } : {}),
    };
  }

  /** Its remote policy's link and round trips; undefined for a policy run here. */
  remote(): RemoteStatus | undefined {
    return this.#inference?.remote ?? this.#process?.remote;
  }

  /** Recent per-tick latency and jitter samples (us), for exact percentiles. */
  recent(): { latencyUs: Float32Array; jitterUs: Float32Array } {
    return this.#state ? this.#state.recent() : { latencyUs: new Float32Array(), jitterUs: new Float32Array() };
  }

  /**
   * The heap of the loop thread's own isolate (isolation: thread), read there without a message to the loop's code;
   * undefined for a loop process, or before start.
   */
  heapStatistics(): Promise<HeapInfo> | undefined {
    return this.#process ? undefined : this.#worker?.getHeapStatistics?.();
  }

  /** Ends the worker (it sends the safe action once on the way out) and leaves the bus. */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    const { name } = this;
    const log = this.#log;
    const worker = this.#worker;
    if (worker && !this.#exited) {
      // The worker sends the safe action, waits for an inline inference in flight, releases its session,
      // says `stopped` and exits. One still in a run after CLOSE_TIMEOUT_MS is left to finish (see
      // closeWorker): terminating it inside onnxruntime would abort the daemon.
      let stopped = false;
      worker.on('message', (m: LoopWorkerMessage) => void (m.kind === 'stopped' && (stopped = true)));
      const exited = await closeWorker(worker, () => this.#requestClose(), CLOSE_TIMEOUT_MS);
      // Past its last run a thread is safe to end; a process is at any point (only it goes).
      if (!exited && (stopped || this.#process)) await worker.terminate();
      else if (!exited)
        log.warn(
          { loop: name, waited_ms: CLOSE_TIMEOUT_MS },
          'control loop thread still inside an inference: left to finish it and exit on its own',
        );
    }
    // After the loop thread, which sends its safe action without waiting for a chunk.
    if (this.#inference && !(await this.#inference.close(CLOSE_TIMEOUT_MS))) {
      log.warn(
        { loop: name, waited_ms: CLOSE_TIMEOUT_MS },
        'inference thread still inside an inference: left to finish it and exit on its own',
      );
    }
    this.#intake?.close();
    this.#leftBus = true;
    this.#publisher?.close();
  }
}
