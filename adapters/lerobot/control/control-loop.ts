import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { compileExtractor, type FieldExtractor } from '../field-extractor.ts';
import { readOnnxModelInfo } from '../onnx-model-file.ts';
import { resolvePolicySpec } from '../policy-spec.ts';
import type { Bus, Publisher, Subscription } from '../../../daemon/bus/index.ts';
import { MessageCodec } from '../../../daemon/bus/index.ts';
import type { DefinitionsRegistry } from '../../../daemon/bus/index.ts';
import type { BusMessage } from '../../../daemon/bus/index.ts';
import type { LoopSettings, PolicySettings } from '../../../daemon/config/index.ts';
import { defaultVelocityLimits, type VelocityLimits } from './command-safety.ts';
import { InferenceThread } from './inference-thread.ts';
import { planLoop, type LoopPlan } from './loop-plan.ts';
import type { LoopWorkerData, LoopWorkerMessage } from './loop-protocol.ts';
import { nowNs } from '../../../daemon/util/index.ts';
import { monotonicMs } from './loop-clock.ts';
import { LoopState, type LoopStats } from './loop-state.ts';
import { ObservationBoard } from './observation-board.ts';
import { FrameFeed } from './frame-feed.ts';
import { withoutMemoryReducer } from './without-memory-reducer.ts';
import { closeWorker, spawnTsWorker, workerEntry } from '../../../daemon/util/index.ts';
import { LogBurst, withSuppressed } from '../../../daemon/util/index.ts';

export interface ControlLoopOptions {
  name: string;
  loop: LoopSettings;
  policyName: string;
  policy: PolicySettings;
  bus: Bus;
  definitions: DefinitionsRegistry;
  log: Logger;
  /** A loop that has not ticked for this long is not alive. */
  livenessTimeoutMs?: number;
  /** Called on the main thread for each command the loop sends (after it is published). */
  onCommand?: (values: Float32Array, safe: boolean) => void;
  /**
   * policy.velocity: a Twist command on its topic is clamped to these. Default: policy.velocity's defaults (never
   * unlimited).
   */
  velocity?: VelocityLimits;
  /**
   * Called once when the loop thread, or an async loop's inference thread, dies after the loop was ready,
   * other than by stop() (an uncaught error, an exit, running out of memory), with a LoopCrash that says which.
   */
  onCrash?: (error: Error) => void;
  /**
   * Why the loop may not move the robot now (the operator's stop is latched), or undefined. Asked on the main
   * thread at each command: while it says so, policy commands are not published and the loop thread sends
   * its safe action instead.
   */
  refusal?: () => string | undefined;
  /** The daemon's stop line (RobotStopAuthority.stopLine), which the loop's thread reads every tick. */
  stopLine?: SharedArrayBuffer;
  /**
   * Tests only: the module an async loop's inference thread runs (default inference-worker.ts), for a
   * stand-in that dies on cue. The control component never sets it, so no config can reach it.
   */
  inferenceWorker?: URL;
  /**
   * The window of the loop's recurring log lines (a failing tick, a stale observation, a message that does
   * not fit the policy): the first at once, then one per window with the count held back. Default 60 s;
   * tests set it to see the count of lines for N events without waiting on a clock.
   */
  logIntervalMs?: number;
}

/** A loop's thread died after the loop was ready: which thread, and why. */
export class LoopCrash extends Error {
  override name = 'LoopCrash';
  readonly thread: 'loop' | 'inference';
  constructor(thread: 'loop' | 'inference', message: string) {
    super(message);
    this.thread = thread;
  }
}

export interface ControlLoopStats extends LoopStats {
  name: string;
  policy: string;
  rateHz: number;
  mode: string;
  /** The loop thread's scheduling as the kernel reports it, e.g. "SCHED_FIFO 50", with why not when refused. */
  scheduling: string;
  /** The loop thread's Linux thread id (for chrt, taskset, ps -L). */
  tid: number;
  chunkSize: number;
  topics: string[];
  /** Messages the main thread could not turn into observations (wrong shape, missing field). */
  observationErrors: number;
  alive: boolean;
  /** The worker and its model are still loading. */
  starting: boolean;
  /**
   * What is wrong while the loop still ticks, for health: its inference thread died (the loop sends the
   * safe action until it is restarted), or a chunk is overdue. Undefined when nothing is.
   */
  fault?: string;
}

const STOP_TIMEOUT_MS = 2000;
const LOG_INTERVAL_MS = 60_000;

/**
 * One fixed-rate control loop, run by a worker thread so the daemon's garbage collection and event loop
 * never delay a tick. This side, on the main thread, turns bus messages into observations on a shared
 * board (decoding only the fields the policy reads) and publishes the commands the worker posts back.
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
  readonly #onCrash: ControlLoopOptions['onCrash'];
  readonly #refusal: ControlLoopOptions['refusal'];
  readonly #stopLine: ControlLoopOptions['stopLine'];
  readonly #inferenceWorker: URL | undefined;
  readonly #logIntervalMs: number;
  #plan: LoopPlan | undefined;
  #state: LoopState | undefined;
  #worker: Worker | undefined;
  #inference: InferenceThread | undefined;
  /** The crash reported (or, while starting, the one that fails the start). */
  #crash: LoopCrash | undefined;
  #subs: Subscription[] = [];
  #frames: FrameFeed | undefined;
  /** Per topic: a publisher whose messages never fit (a missing field) would log one line per message. */
  #skipped: LogBurst | undefined;
  #publisher: Publisher | undefined;
  #observationErrors = 0;
  #mode = 'starting';
  #scheduling = '';
  #tid = 0;
  #stopped: Promise<void> | undefined;
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
    this.#onCrash = onCrash;
    this.#refusal = refusal;
    this.#stopLine = options.stopLine;
    this.#inferenceWorker = inferenceWorker;
    this.#logIntervalMs = logIntervalMs;
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
    const spec = resolvePolicySpec(this.#policyName, this.#policy, readOnnxModelInfo(this.#policy.model));
    const plan = planLoop(name, this.#loop, spec);
    this.#plan = plan;
    const board = new ObservationBoard({ lengths: plan.slots.map((s) => s.length) });
    this.#skipped = new LogBurst({ intervalMs: this.#logIntervalMs });
    const frames = new FrameFeed({
      name,
      images: plan.images,
      bus: this.#bus,
      definitions: this.#definitions,
      onError: (topic, error) => this.#observationSkipped(topic, error),
    });
    this.#frames = frames;
    const state = new LoopState(plan.topics.length);
    this.#state = state;
    const inferencePort = plan.mode === 'async' ? await this.#startInference(plan) : undefined;

    const command = plan.output.command;
    const commandDefinitions = command ? this.#definitions.resolve(command.type).definitions : undefined;
    if (command) this.#publisher = this.#bus.advertise(command.topic, command.type, { source: `control:${name}` });

    const worker = withoutMemoryReducer(() =>
      spawnTsWorker(workerEntry('adapters/lerobot/control/loop-worker'), {
        workerData: {
          name,
          policyName: this.#policyName,
          policy: this.#policy,
          loop: this.#loop,
          velocity: this.#velocity,
          stateBuffer: state.buffer,
          stopLine: this.#stopLine,
          boardBuffer: board.buffer,
          boardLengths: board.lengths,
          frameBuffers: frames.buffers,
          topicCount: plan.topics.length,
          commandDefinitions,
          inference: inferencePort,
          logIntervalMs: this.#logIntervalMs,
        } satisfies LoopWorkerData,
        transferList: inferencePort ? [inferencePort] : [],
      }),
    );
    this.#worker = worker;
    await this.#ready(worker, state);
    this.#watchForCrash(worker);
    this.#subscribe(plan, board);
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

  /**
   * An async loop's inference thread, loaded before the loop thread starts, so a bad model fails the start,
   * not the loop. Returns the loop thread's end of their channel.
   */
  async #startInference(plan: LoopPlan): Promise<MessagePort> {
    const name = this.name;
    const { port1, port2 } = new MessageChannel();
    this.#inference = await InferenceThread.start({
      policyName: this.#policyName,
      policy: this.#policy,
      output: plan.output.name,
      port: port2,
      entry: this.#inferenceWorker,
      onDeath: (error) => this.#crashed('inference', error.message),
    }).catch((error: unknown) => {
      port1.close();
      throw new Error(`control loop ${name}: ${(error as Error).message}`);
    });
    // stop() came while the model loaded: it found no thread to close, so this closes it.
    if (this.#stopped) {
      port1.close();
      await this.#inference.close(STOP_TIMEOUT_MS);
      throw new Error(`control loop ${name}: stopped while starting`);
    }
    return port1;
  }

  /**
   * Waits for the loop thread's `ready` (its model loaded, its scheduling set). A loop that fails first is
   * taken down whole: its threads ended and its command topic let go.
   */
  async #ready(worker: Worker, state: LoopState): Promise<void> {
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
      // A ready async loop runs no model in its own thread: asked to stop, it sends the safe action and exits.
      if (isReady) await closeWorker(worker, () => state.requestStop(), STOP_TIMEOUT_MS);
      await worker.terminate();
      await this.#inference?.close(STOP_TIMEOUT_MS);
      this.#publisher?.close();
      throw error;
    }
  }

  /** After `ready`, an error or exit of the loop thread not asked for by stop() is a crash. */
  #watchForCrash(worker: Worker): void {
    worker.on('error', (error) => this.#crashed('loop', error.message));
    worker.on('exit', (code) => this.#crashed('loop', `worker exited with code ${code}`));
  }

  /**
   * A thread died: the first death is the crash, reported once to onCrash (while starting, start() fails
   * with it instead). A dead inference thread leaves the loop thread ticking: it sends the safe action
   * until the loop is restarted, and the loop stays alive for the watchdog, since the loop frame still works.
   */
  #crashed(thread: 'loop' | 'inference', message: string): void {
    if (this.#crash || this.#stopped) return;
    this.#crash = new LoopCrash(thread, message);
    if (thread === 'inference') this.#state?.markInferenceDead();
    if (!this.#starting) this.#onCrash?.(this.#crash);
  }

  #subscribe(plan: LoopPlan, board: ObservationBoard): void {
    const { name } = this;
    const codec = new MessageCodec(this.#definitions);
    this.#frames?.subscribe();
    const byTopic = new Map<string, { slot: number; extract: FieldExtractor; scratch: Float32Array }[]>();
    for (const slot of plan.slots) {
      const list = byTopic.get(slot.topic) ?? [];
      list.push({
        slot: slot.slot,
        extract: compileExtractor(
          slot.source.settings,
          slot.length,
          `policies.${this.#policyName} ${slot.input}[${slot.offset}..]`,
        ),
        scratch: new Float32Array(slot.length),
      });
      byTopic.set(slot.topic, list);
    }
    for (const [topic, slots] of byTopic) {
      this.#subs.push(
        this.#bus.subscribe({
          name: `control:${name}`,
          topic,
          // A loop wants the latest observation only: an older one is worthless once a newer exists.
          queue: { policy: 'keep-latest' },
          handler: (msg: BusMessage) => {
            try {
              const decoded = codec.decode(msg.type, msg.data);
              // The board is stamped on the monotonic clock the worker reads: the message's age by the
              // wall clock that stamped it, taken now; a logTime from the future counts as age 0.
              const timeMs = monotonicMs() - Math.max(0, Number(nowNs() - msg.logTime) / 1e6);
              // Every slice first, then the board: a message that does not fit one slice is skipped whole,
              // never half of it beside the previous message's other half.
              for (const s of slots) s.extract(decoded, s.scratch, 0);
              for (const s of slots) board.write(s.slot, s.scratch, timeMs);
            } catch (error) {
              this.#observationSkipped(topic, error as Error);
            }
          },
        }),
      );
    }
  }

  /** A message that does not fit the policy (or a frame that does not decode): counted, logged once a window. */
  #observationSkipped(topic: string, error: Error): void {
    this.#observationErrors++;
    const held = this.#skipped?.take(topic);
    if (held !== undefined)
      this.#log.warn(
        withSuppressed({ loop: this.name, topic, count: this.#observationErrors, err: error.message }, held),
        'observation skipped',
      );
  }

  /** Whether a latched stop holds the loop now; tells the loop thread when that changes, and logs it. */
  #heldNow(): boolean {
    const state = this.#state;
    const refusal = this.#refusal?.();
    const held = refusal !== undefined;
    if (state && state.held !== held) {
      state.setHeld(held);
      if (held)
        this.#log.warn(
          { loop: this.name, reason: refusal },
          "control loop held at its safe action: the operator's stop is latched",
        );
      else this.#log.warn({ loop: this.name }, 'control loop released: the policy drives again');
    }
    return held;
  }

  #onMessage(m: LoopWorkerMessage): void {
    const { name } = this;
    const log = this.#log;
    switch (m.kind) {
      case 'command':
        // A thread left to finish its run after stop() (see #stop) may still send its last safe action.
        if (this.#leftBus) break;
        // Once stop() is called only the safe action goes out: a policy command the thread posted before it
        // heard of the stop would move the robot after the stop's zero Twist (the operator's stop).
        if (this.#stopped && !m.safe) break;
        // A policy command the thread posted before it saw the latch goes no further either.
        if (this.#heldNow() && !m.safe) break;
        this.#publisher?.publish(m.data);
        this.#onCommand?.(m.values, m.safe);
        break;
      case 'stale':
        log.warn(
          withSuppressed({ loop: name, topic: m.topic, age_ms: m.ageMs, limit_ms: m.limitMs }, m.suppressed ?? 0),
          m.ageMs === null
            ? 'no observation yet: sending the safe action'
            : 'observation stale: sending the safe action',
        );
        break;
      case 'fresh':
        log.info(withSuppressed({ loop: name, topic: m.topic }, m.suppressed ?? 0), 'observation fresh again');
        break;
      case 'error':
        log.error(
          withSuppressed({ loop: name, count: m.count, err: m.message }, m.suppressed ?? 0),
          'control loop tick failed: sent the safe action',
        );
        break;
      case 'non_finite':
        log.error(
          withSuppressed({ loop: name, count: m.count, action: m.values.map(String) }, m.suppressed ?? 0),
          'policy action not finite: sent the safe action',
        );
        break;
      case 'inference_overdue':
        log.warn(
          withSuppressed({ loop: name, count: m.count, waited_ms: m.waitedMs, limit_ms: m.limitMs }, m.suppressed ?? 0),
          'inference overdue: no chunk within chunking.inference_timeout_ms; the loop sends its on_underrun action meanwhile',
        );
        break;
      case 'inference_late':
        log.info({ loop: name, took_ms: m.tookMs }, 'overdue inference came back');
        break;
      default:
        break;
    }
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
      observationErrors: this.#observationErrors,
      alive: this.alive(),
      starting: this.#starting,
      fault: this.#crash?.message ?? overdue,
    };
  }

  /** Recent per-tick latency and jitter samples (us), for exact percentiles. */
  recent(): { latencyUs: Float32Array; jitterUs: Float32Array } {
    return this.#state ? this.#state.recent() : { latencyUs: new Float32Array(), jitterUs: new Float32Array() };
  }

  /** Stops the worker (it sends the safe action once on the way out) and leaves the bus. */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    const { name } = this;
    const log = this.#log;
    const worker = this.#worker;
    if (worker && !this.#exited) {
      // The worker sends the safe action, waits for an inline inference in flight, releases its session,
      // says `stopped` and exits. One still in a run after STOP_TIMEOUT_MS is left to finish (see
      // closeWorker): terminating it inside onnxruntime would abort the daemon.
      let stopped = false;
      worker.on('message', (m: LoopWorkerMessage) => void (m.kind === 'stopped' && (stopped = true)));
      const exited = await closeWorker(worker, () => this.#state?.requestStop(), STOP_TIMEOUT_MS);
      if (!exited && stopped)
        await worker.terminate(); // past its last run: safe to end
      else if (!exited)
        log.warn(
          { loop: name, waited_ms: STOP_TIMEOUT_MS },
          'control loop thread still inside an inference: left to finish it and exit on its own',
        );
    }
    // After the loop thread, which sends its safe action without waiting for a chunk.
    if (this.#inference && !(await this.#inference.close(STOP_TIMEOUT_MS))) {
      log.warn(
        { loop: name, waited_ms: STOP_TIMEOUT_MS },
        'inference thread still inside an inference: left to finish it and exit on its own',
      );
    }
    for (const sub of this.#subs) this.#bus.unsubscribe(sub);
    this.#subs = [];
    this.#frames?.close();
    this.#leftBus = true;
    this.#publisher?.close();
  }
}
