import type { DecodePool } from '../vision/decode-pool.ts';
import { system1Issues } from '../../config/index.ts';
import type { LoopStart, HaltHookOutcome, HaltLatchView, HaltOrder } from '../../contract/index.ts';
import { PORTS, type MetricFamily, type MetricsProvider } from '../../contract/index.ts';
import type { Component, ComponentContext, ComponentHealth } from '../../lifecycle/index.ts';
import { exponentialBackoff, errorText, sleep } from '../../util/index.ts';
import { ControlLoop, LoopCrash, type ControlLoopOptions } from './control-loop.ts';
import type { ComponentLoopStats, CrashCounts } from './control-loop-types.ts';
import { monotonicMs } from './loop-clock.ts';
import { HeldLoops } from './held-loops.ts';
import { LoopJointLimits } from './loop-joint-limits.ts';
import { loopMetrics } from './loop-metrics.ts';
import { loopsHealth } from './loops-health.ts';

export type { ComponentLoopStats, CrashCounts } from './control-loop-types.ts';

/** What the component needs of a loop; a ControlLoop, or a double in tests. */
export type LoopHandle = Pick<ControlLoop, 'name' | 'starting' | 'start' | 'close' | 'alive' | 'stats'>;

export interface ControlComponentOptions {
  createLoop?: (options: ControlLoopOptions) => LoopHandle;
  /**
   * Delay before the first restart of a crashed autostart loop; doubles per crash in a row, up to maxRestartDelayMs.
   */
  restartDelayMs?: number;
  maxRestartDelayMs?: number;
  /** The daemon's decode processes (the cameras component), which the loops' cameras share. */
  decodePool?: DecodePool;
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
  /**
   * Lets the autostart loop `name`, held since the operator's stop was released, drive again: what `auraison-edge
   * control start`, the start_loop skill and MCP call. Refused while the stop is latched.
   */
  startLoop(name: string): LoopStart;
}

/** Component `control`: runs every loop of `control.loops`, each in its own worker thread (or process). */
export class ControlComponent implements Component, ControlService, MetricsProvider {
  readonly name = 'control';
  #ctx: ComponentContext;
  #createLoop: (options: ControlLoopOptions) => LoopHandle;
  #restartDelayMs: number;
  #maxRestartDelayMs: number;
  readonly #decodePool: DecodePool | undefined;
  #loops: AutostartLoop[] = [];
  #latch: HaltLatchView;
  #offHalt: (() => void) | undefined;
  /** Why the autostart loops are not running: an operator's stop with no latch to hold them (#operatorStop). */
  #stoppedBy: string | undefined;
  #state: ComponentHealth['state'] = 'stopped';
  /** On-demand loops running now, by name. */
  #onDemand = new Map<string, LoopHandle>();
  /**
   * Autostart loops held at their safe action since the operator's stop, until an operator starts each
   * (startLoop): a release lets the robot move again, it does not move it.
   */
  /** The loops the stop held that wait for an operator's start, kept across reloads and restarts. */
  readonly #awaitingStart: HeldLoops;
  /** motion.joints' limits, which the loops' joint commands are held to: open while the component runs. */
  readonly #jointLimits: LoopJointLimits;

  constructor(ctx: ComponentContext, options: ControlComponentOptions = {}) {
    const { createLoop = (o) => new ControlLoop(o), restartDelayMs = 500, maxRestartDelayMs = 30_000 } = options;
    this.#ctx = ctx;
    this.#decodePool = options.decodePool;
    this.#createLoop = createLoop;
    this.#restartDelayMs = restartDelayMs;
    this.#maxRestartDelayMs = maxRestartDelayMs;
    this.#latch = ctx.haltAuthority.latch;
    this.#jointLimits = new LoopJointLimits(ctx);
    this.#awaitingStart = new HeldLoops(ctx.dataDir);
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
      velocity: config.motion.velocity,
      ...this.#jointLimits.options(),
      onCrash,
      // The operator's latched stop (motion.stop.latch) holds every loop at its safe action until released,
      // with the agent running or not (the daemon's one latch, ComponentContext.haltAuthority); after the release an
      // autostart loop holds on until an operator starts it.
      refusal: () => this.#latch.refusal() ?? this.#awaiting(name),
      haltLine: this.#ctx.haltAuthority.haltLine,
      graph: this.#ctx.graph,
      robot: this.#ctx.robot,
      graphQueries: () => this.#ctx.ports.get(PORTS.graphQueries),
      decodePool: this.#decodePool,
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
    await entry.loop.close().catch(() => undefined); // leaves the bus; the dead worker sends nothing
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
    this.#offHalt = this.#ctx.haltAuthority.onHalt('control loops', (order) => this.#operatorHalt(order));
    // A stop latched before this start: loops start held, and hold on after its release until started.
    const { latched } = this.#ctx.haltAuthority.load();
    if (latched && Object.keys(config.control.loops).length > 0)
      this.#ctx.log.warn(
        { stop_latch: latched },
        "control loops start held at their safe action: the operator's stop is latched; once released, each waits for `auraison-edge control start <loop>`",
      );
    const autostart = Object.entries(config.control.loops)
      .filter(([, loop]) => loop.autostart)
      .map(([name]) => name);
    this.#awaitingStart.keepOnly(autostart);
    if (latched) this.#awaitingStart.add(autostart);
    if (this.#awaitingStart.problem)
      this.#ctx.log.warn({ file: this.#awaitingStart.path }, this.#awaitingStart.problem);
    await this.#jointLimits.open();
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
   * The operator's stop. With the latch (motion.stop.latch, the default), it engages in the stop's own tick and
   * every loop's next tick sends its safe action until a person releases it. Without the latch a stop would
   * last one tick before the policy drove again: so the autostart loops are stopped (each sends its safe action
   * once) and stay stopped until the daemon's next start or a reload that restarts this component. An on-demand
   * loop ends with the run the stop cancels.
   */
  #operatorHalt(order: HaltOrder): HaltHookOutcome | void {
    if (this.#latch.enabled) {
      // Every autostart loop of the config, also one whose start is still under way.
      const loops = Object.entries(this.#ctx.config.control.loops);
      this.#awaitingStart.add(loops.filter(([, loop]) => loop.autostart).map(([name]) => name));
      return;
    }
    if (this.#loops.length === 0) return;
    const loops = this.#loops.splice(0);
    for (const entry of loops) clearTimeout(entry.timer);
    this.#stoppedBy = `stopped by ${order.by}${order.reason ? `: ${order.reason}` : ''} (motion.stop.latch is false: they start again with the component)`;
    this.#ctx.log.warn(
      { loops: loops.map((e) => e.name), by: order.by },
      `control loops stopped by the operator's stop; ${this.#stoppedBy}`,
    );
    return { settled: Promise.all(loops.map((e) => e.loop.close())).then(() => ({})) };
  }

  async close(): Promise<void> {
    this.#state = 'stopping';
    this.#offHalt?.();
    this.#jointLimits.close();
    for (const entry of this.#loops) clearTimeout(entry.timer);
    await Promise.all([...this.#loops.map((e) => e.loop), ...this.#onDemand.values()].map((l) => l.close()));
    this.#loops = [];
    this.#onDemand.clear();
    this.#state = 'stopped';
  }

  /** Why the autostart loop `name` holds after the stop's release, or undefined once it was started. */
  #awaiting(name: string): string | undefined {
    if (!this.#awaitingStart.has(name)) return undefined;
    return `held since the operator's stop: the stop was released, and the loop waits for an operator's start (\`auraison-edge control start ${name}\`)`;
  }

  startLoop(name: string): LoopStart {
    const loop = this.#ctx.config.control.loops[name];
    if (!loop || !loop.autostart) {
      const known = Object.entries(this.#ctx.config.control.loops).filter(([, l]) => l.autostart);
      return {
        ok: false,
        started: false,
        refused: 'unknown_loop',
        message: `no autostart loop "${name}" (autostart loops: ${known.map(([n]) => n).join(', ') || 'none'}; an on-demand loop runs with run_policy)`,
      };
    }
    const latched = this.#latch.refusal();
    if (latched)
      return {
        ok: false,
        started: false,
        refused: 'latched',
        message: `${latched}: release the stop first (\`auraison-edge stop --release\`)`,
      };
    if (this.#stoppedBy)
      return { ok: false, started: false, refused: 'stopped', message: `loop "${name}" was ${this.#stoppedBy}` };
    if (!this.#awaitingStart.delete(name))
      return { ok: true, started: false, message: `loop "${name}" is running; nothing held it` };
    this.#ctx.log.warn({ loop: name }, 'control loop started by an operator: its policy drives');
    return { ok: true, started: true, message: `loop "${name}" started: its policy drives` };
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
    // An on-demand run is not restarted: a crash ends it, and the run says so.
    const crashed = new AbortController();
    const control = this.#createLoop(
      this.#loopOptions(name, (error) => {
        crash = error;
        crashed.abort();
      }),
    );
    this.#onDemand.set(name, control);
    try {
      await control.start();
      // A stop (the run's abort) that came while the worker loaded its model: the loop stops at once and
      // sends its safe action, rather than run its whole `seconds`.
      await sleep(seconds * 1000, { signal: AbortSignal.any([signal, crashed.signal]) });
    } catch (error) {
      return { ok: false, message: `loop "${name}" failed to start: ${errorText(error)}` };
    } finally {
      await control.close(); // sends the safe action once
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
        ...(this.#awaitingStart.has(e.name) && !this.#latch.refusal() ? { waiting: this.#awaiting(e.name) } : {}),
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
    return loopsHealth(this.loopStats(), this.#stoppedBy);
  }

  metrics(): MetricFamily[] {
    return loopMetrics(this.loopStats(), monotonicMs());
  }
}
