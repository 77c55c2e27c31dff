import { system1Issues } from '../../../daemon/config/index.ts';
import type { StopHookOutcome, StopLatchView, StopOrder } from '../../../daemon/contract/index.ts';
import type { MetricFamily, MetricsProvider } from '../../../daemon/contract/index.ts';
import type { Component, ComponentContext, ComponentHealth } from '../../../daemon/lifecycle/index.ts';
import { exponentialBackoff } from '../../../daemon/util/index.ts';
import { ControlLoop, LoopCrash, type ControlLoopOptions, type ControlLoopStats } from './control-loop.ts';
import { monotonicMs } from './loop-clock.ts';
import { LATENCY_BUCKETS_US, type HistogramSnapshot } from './latency-histogram.ts';

/** What the component needs of a loop; a ControlLoop, or a double in tests. */
export type LoopHandle = Pick<ControlLoop, 'name' | 'starting' | 'start' | 'stop' | 'alive' | 'stats'>;

/** A loop's figures plus what the component adds: crashes by thread, the last one's cause, restarts after them. */
export type ComponentLoopStats = ControlLoopStats & { restarts: number; crashes: CrashCounts; lastCrash?: string };

/** Crashes of an autostart loop by the thread that died (kept across its restarts). */
export type CrashCounts = Record<LoopCrash['thread'], number>;

export interface ControlComponentOptions {
  createLoop?: (options: ControlLoopOptions) => LoopHandle;
  /**
   * Delay before the first restart of a crashed autostart loop; doubles per crash in a row, up to maxRestartDelayMs.
   */
  restartDelayMs?: number;
  maxRestartDelayMs?: number;
}

/** A crash after a loop ran this long is not "in a row": the restart delay starts over. */
const STABLE_RUN_MS = 60_000;

/** An autostart loop and its restart bookkeeping. */
interface AutostartLoop {
  name: string;
  options: ControlLoopOptions;
  loop: LoopHandle;
  restarts: number;
  crashes: CrashCounts;
  lastCrash?: string;
  /** Crashes in a row (a stable run resets it); sets the restart delay. */
  streak: number;
  startedAt: number;
  timer: NodeJS.Timeout | undefined;
}

/** What the control component offers others (the watchdog, the API, the agent). */
export interface ControlService {
  /**
   * True when every running loop ticked within its liveness timeout (and vacuously with no loops). Loops
   * still starting (worker and model loading) are left out; a crashed loop waiting for its restart counts
   * as not alive.
   */
  loopsAlive(): boolean;
  loopStats(): ComponentLoopStats[];
  /**
   * Runs the on-demand loop `name` (control.loops.<name> with autostart: false) for `seconds`, or until
   * `signal` aborts; what the agent's run_policy skill calls. Resolves with what happened, never rejects.
   */
  runPolicy(name: string, options: { seconds: number; signal: AbortSignal }): Promise<{ ok: boolean; message: string }>;
}

/** Component `control`: runs every loop of `control.loops`, each in its own worker thread. */
export class ControlComponent implements Component, ControlService, MetricsProvider {
  readonly name = 'control';
  #ctx: ComponentContext;
  #createLoop: (options: ControlLoopOptions) => LoopHandle;
  #restartDelayMs: number;
  #maxRestartDelayMs: number;
  #loops: AutostartLoop[] = [];
  #latch: StopLatchView;
  #offStop: (() => void) | undefined;
  /** Why the autostart loops are not running: an operator's stop with no latch to hold them (#operatorStop). */
  #stoppedBy: string | undefined;
  #state: ComponentHealth['state'] = 'stopped';
  /** On-demand loops running now, by name. */
  #onDemand = new Map<string, LoopHandle>();

  constructor(ctx: ComponentContext, options: ControlComponentOptions = {}) {
    const { createLoop = (o) => new ControlLoop(o), restartDelayMs = 500, maxRestartDelayMs = 30_000 } = options;
    this.#ctx = ctx;
    this.#createLoop = createLoop;
    this.#restartDelayMs = restartDelayMs;
    this.#maxRestartDelayMs = maxRestartDelayMs;
    this.#latch = ctx.robotStop.latch;
  }

  #loopOptions(name: string, onCrash: (error: Error) => void): ControlLoopOptions {
    const { config, bus, definitions, log } = this.#ctx;
    const loop = config.control.loops[name]!;
    return {
      name,
      loop,
      policyName: loop.policy,
      policy: config.policies[loop.policy]!,
      bus,
      definitions,
      log,
      livenessTimeoutMs: config.control.liveness_timeout_ms,
      // The agent's limits: a loop's Twist on the velocity topic is held to them as the CmdVelGate holds the agent's.
      velocity: config.policy.velocity,
      onCrash,
      // The operator's latched stop (agent.stop_latch) holds every loop at its safe action until released,
      // with the agent running or not (the daemon's one latch, ComponentContext.robotStop).
      refusal: () => this.#latch.refusal(),
      stopLine: this.#ctx.robotStop.stopLine,
    };
  }

  /** A crashed autostart worker: logged, counted, restarted after a delay that doubles per crash in a row. */
  #crashed(entry: AutostartLoop, error: Error): void {
    if (this.#state !== 'running' && this.#state !== 'starting') return;
    const { log } = this.#ctx;
    entry.lastCrash = error.message;
    entry.streak = monotonicMs() - entry.startedAt >= STABLE_RUN_MS ? 1 : entry.streak + 1;
    const delay = exponentialBackoff(entry.streak - 1, {
      firstMs: this.#restartDelayMs,
      maxMs: this.#maxRestartDelayMs,
    });
    log.error(
      { loop: entry.name, err: error.message, crashes_in_a_row: entry.streak, restart_in_ms: delay },
      'control loop worker crashed: restarting it',
    );
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => void this.#restart(entry), delay);
  }

  async #restart(entry: AutostartLoop): Promise<void> {
    entry.timer = undefined;
    if (this.#state !== 'running') return;
    const { log } = this.#ctx;
    await entry.loop.stop().catch(() => undefined); // leaves the bus; the dead worker sends nothing
    const loop = this.#createLoop(entry.options);
    entry.loop = loop;
    entry.restarts++;
    entry.startedAt = monotonicMs();
    try {
      await loop.start();
      log.info({ loop: entry.name, restarts: entry.restarts }, 'control loop restarted');
    } catch (error) {
      this.#crashed(entry, error as Error);
    }
  }

  async start(): Promise<void> {
    this.#state = 'starting';
    const { config } = this.#ctx;
    const issues = system1Issues(config);
    if (issues.length > 0) {
      this.#state = 'stopped';
      throw new Error(issues.map((i) => `${i.path}: ${i.message}`).join('; '));
    }
    this.#offStop = this.#ctx.robotStop.onStop('control loops', (order) => this.#operatorStop(order));
    // A stop latched before this start: loops start held.
    const { latched } = this.#ctx.robotStop.load();
    if (latched && Object.keys(config.control.loops).length > 0)
      this.#ctx.log.warn(
        { stop_latch: latched },
        "control loops start held at their safe action: the operator's stop is latched",
      );
    for (const [name, loop] of Object.entries(config.control.loops)) {
      const policy = config.policies[loop.policy];
      if (!policy) {
        await this.close();
        throw new Error(
          `control.loops.${name}.policy: no policy "${loop.policy}" in policies (known: ${Object.keys(config.policies).join(', ') || 'none'})`,
        );
      }
      if (!loop.autostart) continue;
      const options = this.#loopOptions(name, (error) => {
        entry.crashes[error instanceof LoopCrash ? error.thread : 'loop']++;
        this.#crashed(entry, error);
      });
      const entry: AutostartLoop = {
        name,
        options,
        loop: this.#createLoop(options),
        restarts: 0,
        crashes: { loop: 0, inference: 0 },
        streak: 0,
        startedAt: monotonicMs(),
        timer: undefined,
      };
      this.#loops.push(entry);
      try {
        await entry.loop.start();
      } catch (error) {
        await this.close();
        throw error;
      }
    }
    this.#state = 'running';
  }

  /**
   * The operator's stop. With the latch (agent.stop_latch, the default), it engages in the stop's own tick and
   * every loop's next tick sends its safe action until a person releases it. Without the latch a stop would
   * last one tick before the policy drove again: so the autostart loops are stopped (each sends its safe action
   * once) and stay stopped until the daemon's next start or a reload that restarts this component. An on-demand
   * loop ends with the run the stop cancels.
   */
  #operatorStop(order: StopOrder): StopHookOutcome | void {
    if (this.#latch.enabled || this.#loops.length === 0) return;
    const loops = this.#loops.splice(0);
    for (const entry of loops) clearTimeout(entry.timer);
    this.#stoppedBy = `stopped by ${order.by}${order.reason ? `: ${order.reason}` : ''} (agent.stop_latch is false: they start again with the component)`;
    this.#ctx.log.warn(
      { loops: loops.map((e) => e.name), by: order.by },
      `control loops stopped by the operator's stop; ${this.#stoppedBy}`,
    );
    return { settled: Promise.all(loops.map((e) => e.loop.stop())).then(() => ({})) };
  }

  async close(): Promise<void> {
    this.#state = 'stopping';
    this.#offStop?.();
    for (const entry of this.#loops) clearTimeout(entry.timer);
    await Promise.all([...this.#loops.map((e) => e.loop), ...this.#onDemand.values()].map((l) => l.stop()));
    this.#loops = [];
    this.#onDemand.clear();
    this.#state = 'stopped';
  }

  #all(): LoopHandle[] {
    return [...this.#loops.map((e) => e.loop), ...this.#onDemand.values()];
  }

  loopsAlive(): boolean {
    return this.#all().every((l) => l.starting || l.alive());
  }

  async runPolicy(
    name: string,
    options: { seconds: number; signal: AbortSignal },
  ): Promise<{ ok: boolean; message: string }> {
    const { seconds, signal } = options;
    const { config } = this.#ctx;
    const loop = config.control.loops[name];
    if (this.#state !== 'running') return { ok: false, message: `the control component is ${this.#state}` };
    if (!loop) {
      const known = Object.entries(config.control.loops)
        .filter(([, l]) => !l.autostart)
        .map(([n]) => n);
      return {
        ok: false,
        message: `no on-demand loop "${name}": add control.loops.${name} with autostart: false (on-demand loops: ${known.join(', ') || 'none'})`,
      };
    }
    if (loop.autostart)
      return {
        ok: false,
        message: `loop "${name}" runs continuously (autostart: true); run_policy drives loops configured with autostart: false`,
      };
    if (this.#onDemand.has(name)) return { ok: false, message: `loop "${name}" is already running for another run` };
    let crash: Error | undefined;
    let crashed = (): void => undefined;
    const control = this.#createLoop(
      this.#loopOptions(name, (error) => {
        crash = error;
        crashed();
      }),
    );
    this.#onDemand.set(name, control);
    try {
      await control.start();
      // A stop (the run's abort) that came while the worker loaded its model: the loop stops at once and
      // sends its safe action, rather than run its whole `seconds` (a listener added now would never fire).
      if (!signal.aborted)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, seconds * 1000);
          // An on-demand run is not restarted: a crash ends it, and the run says so.
          crashed = () => {
            clearTimeout(timer);
            resolve();
          };
          signal.addEventListener(
            'abort',
            () => {
              clearTimeout(timer);
              resolve();
            },
            { once: true },
          );
        });
    } catch (error) {
      return { ok: false, message: `loop "${name}" failed to start: ${(error as Error).message}` };
    } finally {
      await control.stop(); // sends the safe action once
      this.#onDemand.delete(name);
    }
    const s = control.stats();
    const figures = `${s.ticks} ticks at ${s.rateHz} Hz, ${s.missedDeadlines} missed deadlines, ${s.staleTicks} stale observations, ${s.errors} errors`;
    if (crash) return { ok: false, message: `loop "${name}" crashed (${crash.message}) after ${figures}` };
    if (signal.aborted) return { ok: false, message: `stopped early (cancelled) after ${figures}` };
    return s.errors === 0
      ? { ok: true, message: `ran ${seconds} s: ${figures}` }
      : { ok: false, message: `ran with errors: ${figures}` };
  }

  loopStats(): ComponentLoopStats[] {
    return [
      ...this.#loops.map((e) => ({
        ...e.loop.stats(),
        restarts: e.restarts,
        crashes: { ...e.crashes },
        ...(e.lastCrash ? { lastCrash: e.lastCrash } : {}),
      })),
      // An on-demand run is not restarted: its crash ends the run, and the run's result says so.
      ...[...this.#onDemand.values()].map((l) => ({ ...l.stats(), restarts: 0, crashes: { loop: 0, inference: 0 } })),
    ];
  }

  health(): ComponentHealth {
    if (this.#state !== 'running') return { state: this.#state };
    const stats = this.loopStats();
    const dead = stats.filter((s) => !s.alive && !s.starting).map((s) => s.name);
    const details = Object.fromEntries(
      stats.map((s) => [
        s.name,
        {
          alive: s.alive,
          starting: s.starting,
          mode: s.mode,
          scheduling: s.scheduling,
          ticks: s.ticks,
          missed_deadlines: s.missedDeadlines,
          stale_ticks: s.staleTicks,
          underruns: s.underruns,
          errors: s.errors,
          non_finite_actions: s.nonFinite,
          held_actions: s.held,
          clamped_commands: s.clamped,
          inference_overdue: s.inferenceOverdue,
          restarts: s.restarts,
          crashes: s.crashes,
          ...(s.fault ? { fault: s.fault } : {}),
          ...(s.lastCrash ? { last_crash: s.lastCrash } : {}),
        },
      ]),
    );
    // `alive` gates the systemd watchdog (daemon/lifecycle/systemd-notify.ts): a stalled loop stops the pings.
    if (dead.length > 0)
      return { state: 'degraded', alive: false, reason: `control loop(s) ${dead.join(', ')} stopped ticking`, details };
    // A loop that ticks but whose inference died (it sends the safe action until restarted) or is overdue:
    // degraded, yet alive, since the loop frame still works and the watchdog has nothing to restart.
    const faults = stats.filter((s) => s.fault && !s.starting).map((s) => `${s.name}: ${s.fault}`);
    if (faults.length > 0)
      return { state: 'degraded', alive: true, reason: `control loop ${faults.join('; ')}`, details };
    if (this.#stoppedBy) return { state: 'degraded', alive: true, reason: `control loops ${this.#stoppedBy}`, details };
    return { state: 'running', alive: true, details };
  }

  metrics(): MetricFamily[] {
    const stats = this.loopStats();
    const now = monotonicMs();
    const counter = (name: string, help: string, value: (s: ComponentLoopStats) => number): MetricFamily => ({
      name,
      help,
      type: 'counter',
      samples: stats.map((s) => ({ labels: { loop: s.name }, value: value(s) })),
    });
    const histogram = (name: string, help: string, pick: (s: ControlLoopStats) => HistogramSnapshot): MetricFamily => ({
      name,
      help,
      type: 'histogram',
      samples: [],
      histograms: stats.map((s) => {
        const h = pick(s);
        let cumulative = 0;
        const buckets = h.counts.map((c, i) => {
          cumulative += c;
          return { le: i < LATENCY_BUCKETS_US.length ? LATENCY_BUCKETS_US[i]! / 1e6 : Infinity, count: cumulative };
        });
        return { labels: { loop: s.name }, buckets, sum: h.sumUs / 1e6, count: h.count };
      }),
    });
    return [
      counter('auraison_control_loop_ticks_total', 'Control loop iterations.', (s) => s.ticks),
      counter(
        'auraison_control_loop_missed_deadlines_total',
        'Iterations that finished after the next tick was due, and ticks skipped.',
        (s) => s.missedDeadlines,
      ),
      counter(
        'auraison_control_loop_stale_ticks_total',
        'Ticks that sent the safe action because an observation was stale or missing.',
        (s) => s.staleTicks,
      ),
      {
        name: 'auraison_control_loop_stale_observations_total',
        help: 'Stale or missing observations per loop and topic.',
        type: 'counter',
        samples: stats.flatMap((s) =>
          s.staleBySource.map((value, i) => ({ labels: { loop: s.name, topic: s.topics[i] ?? String(i) }, value })),
        ),
      },
      counter(
        'auraison_control_loop_underruns_total',
        'Ticks of a chunked policy that found the action queue empty.',
        (s) => s.underruns,
      ),
      counter(
        'auraison_control_loop_errors_total',
        'Ticks whose inference failed (the safe action was sent).',
        (s) => s.errors,
      ),
      counter(
        'auraison_control_loop_non_finite_actions_total',
        'Policy actions with a NaN or infinite element, replaced by the safe action.',
        (s) => s.nonFinite,
      ),
      counter(
        'auraison_control_loop_held_actions_total',
        "Policy actions replaced by the safe action while the operator's stop was latched.",
        (s) => s.held,
      ),
      counter(
        'auraison_control_loop_clamped_commands_total',
        "Twist commands on the velocity topic clamped to policy.velocity's limits.",
        (s) => s.clamped,
      ),
      counter('auraison_control_loop_restarts_total', 'Restarts of a crashed loop worker.', (s) => s.restarts),
      {
        name: 'auraison_control_loop_crashes_total',
        help: "Deaths of an autostart loop's threads after it was ready, by thread: the loop thread, or an async loop's inference thread.",
        type: 'counter',
        samples: stats.flatMap((s) =>
          (['loop', 'inference'] as const).map((thread) => ({
            labels: { loop: s.name, thread },
            value: s.crashes[thread],
          })),
        ),
      },
      counter(
        'auraison_control_loop_inference_overdue_total',
        'Async chunk requests awaited past chunking.inference_timeout_ms.',
        (s) => s.inferenceOverdue,
      ),
      {
        name: 'auraison_control_loop_inference_wait_seconds',
        help: 'How long the async chunk in flight has been awaited (0: none in flight).',
        type: 'gauge',
        samples: stats.map((s) => ({
          labels: { loop: s.name },
          value: s.inferenceSentMs > 0 ? Math.max(0, now - s.inferenceSentMs) / 1000 : 0,
        })),
      },
      counter(
        'auraison_control_loop_observation_errors_total',
        'Messages that could not become observations.',
        (s) => s.observationErrors,
      ),
      {
        name: 'auraison_control_loop_alive',
        help: '1 while the loop ticks within its liveness timeout.',
        type: 'gauge',
        samples: stats.map((s) => ({ labels: { loop: s.name }, value: s.alive ? 1 : 0 })),
      },
      histogram(
        'auraison_control_loop_latency_seconds',
        "Time from a tick's scheduled start to its command being sent.",
        (s) => s.latency,
      ),
      histogram(
        'auraison_control_loop_jitter_seconds',
        "Lateness of a tick's start against its schedule.",
        (s) => s.jitter,
      ),
    ];
  }
}
