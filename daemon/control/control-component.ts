import type { MetricFamily, MetricsProvider } from '../contract/services.ts';
import type { Component, ComponentContext, ComponentHealth } from '../lifecycle/component.ts';
import { ControlLoop, type ControlLoopStats } from './control-loop.ts';
import { LATENCY_BUCKETS_US, type HistogramSnapshot } from './latency-histogram.ts';

/** What the control component offers others (the watchdog, the API, the agent). */
export interface ControlService {
  /** True when every running loop ticked within its liveness timeout (and vacuously with no loops). */
  loopsAlive(): boolean;
  loopStats(): ControlLoopStats[];
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
  #loops: ControlLoop[] = [];
  #state: ComponentHealth['state'] = 'stopped';
  /** On-demand loops running now, by name. */
  #onDemand = new Map<string, ControlLoop>();

  constructor(ctx: ComponentContext) {
    this.#ctx = ctx;
  }

  async start(): Promise<void> {
    this.#state = 'starting';
    const { config, bus, definitions, log } = this.#ctx;
    for (const [name, loop] of Object.entries(config.control.loops)) {
      const policy = config.policies[loop.policy];
      if (!policy) {
        await this.stop();
        throw new Error(`control.loops.${name}.policy: no policy "${loop.policy}" in policies (known: ${Object.keys(config.policies).join(', ') || 'none'})`);
      }
      if (!loop.autostart) continue;
      const control = new ControlLoop({ name, loop, policyName: loop.policy, policy, bus, definitions, log, livenessTimeoutMs: config.control.liveness_timeout_ms });
      try {
        await control.start();
      } catch (error) {
        await this.stop();
        throw error;
      }
      this.#loops.push(control);
    }
    this.#state = 'running';
  }

  async stop(): Promise<void> {
    this.#state = 'stopping';
    await Promise.all([...this.#loops, ...this.#onDemand.values()].map((l) => l.stop()));
    this.#loops = [];
    this.#onDemand.clear();
    this.#state = 'stopped';
  }

  loopsAlive(): boolean {
    return [...this.#loops, ...this.#onDemand.values()].every((l) => l.alive());
  }

  async runPolicy(name: string, options: { seconds: number; signal: AbortSignal }): Promise<{ ok: boolean; message: string }> {
    const { seconds, signal } = options;
    const { config, bus, definitions, log } = this.#ctx;
    const loop = config.control.loops[name];
    if (this.#state !== 'running') return { ok: false, message: `the control component is ${this.#state}` };
    if (!loop) {
      const known = Object.entries(config.control.loops).filter(([, l]) => !l.autostart).map(([n]) => n);
      return { ok: false, message: `no on-demand loop "${name}": add control.loops.${name} with autostart: false (on-demand loops: ${known.join(', ') || 'none'})` };
    }
    if (loop.autostart) return { ok: false, message: `loop "${name}" runs continuously (autostart: true); run_policy drives loops configured with autostart: false` };
    if (this.#onDemand.has(name)) return { ok: false, message: `loop "${name}" is already running for another run` };
    const policy = config.policies[loop.policy]!;
    const control = new ControlLoop({ name, loop, policyName: loop.policy, policy, bus, definitions, log, livenessTimeoutMs: config.control.liveness_timeout_ms });
    this.#onDemand.set(name, control);
    try {
      await control.start();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, seconds * 1000);
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        }, { once: true });
      });
    } catch (error) {
      return { ok: false, message: `loop "${name}" failed to start: ${(error as Error).message}` };
    } finally {
      await control.stop(); // sends the safe action once
      this.#onDemand.delete(name);
    }
    const s = control.stats();
    const figures = `${s.ticks} ticks at ${s.rateHz} Hz, ${s.missedDeadlines} missed deadlines, ${s.staleTicks} stale observations, ${s.errors} errors`;
    if (signal.aborted) return { ok: false, message: `stopped early (cancelled) after ${figures}` };
    return s.errors === 0 ? { ok: true, message: `ran ${seconds} s: ${figures}` } : { ok: false, message: `ran with errors: ${figures}` };
  }

  loopStats(): ControlLoopStats[] {
    return [...this.#loops, ...this.#onDemand.values()].map((l) => l.stats());
  }

  health(): ComponentHealth {
    if (this.#state !== 'running') return { state: this.#state };
    const stats = this.loopStats();
    const dead = stats.filter((s) => !s.alive).map((s) => s.name);
    const details = Object.fromEntries(
      stats.map((s) => [s.name, { alive: s.alive, mode: s.mode, ticks: s.ticks, missed_deadlines: s.missedDeadlines, stale_ticks: s.staleTicks, underruns: s.underruns, errors: s.errors }]),
    );
    // `alive` gates the systemd watchdog (daemon/lifecycle/systemd-notify.ts): a stalled loop stops the pings.
    if (dead.length > 0) return { state: 'degraded', alive: false, reason: `control loop(s) ${dead.join(', ')} stopped ticking`, details };
    return { state: 'running', alive: true, details };
  }

  metrics(): MetricFamily[] {
    const stats = this.loopStats();
    const counter = (name: string, help: string, value: (s: ControlLoopStats) => number): MetricFamily => ({
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
      counter('auraison_control_loop_missed_deadlines_total', 'Iterations that finished after the next tick was due, and ticks skipped.', (s) => s.missedDeadlines),
      counter('auraison_control_loop_stale_ticks_total', 'Ticks that sent the safe action because an observation was stale or missing.', (s) => s.staleTicks),
      {
        name: 'auraison_control_loop_stale_observations_total',
        help: 'Stale or missing observations per loop and topic.',
        type: 'counter',
        samples: stats.flatMap((s) => s.staleBySource.map((value, i) => ({ labels: { loop: s.name, topic: s.topics[i] ?? String(i) }, value }))),
      },
      counter('auraison_control_loop_underruns_total', 'Ticks of a chunked policy that found the action queue empty.', (s) => s.underruns),
      counter('auraison_control_loop_errors_total', 'Ticks whose inference failed (the safe action was sent).', (s) => s.errors),
      counter('auraison_control_loop_observation_errors_total', 'Messages that could not become observations.', (s) => s.observationErrors),
      {
        name: 'auraison_control_loop_alive',
        help: '1 while the loop ticks within its liveness timeout.',
        type: 'gauge',
        samples: stats.map((s) => ({ labels: { loop: s.name }, value: s.alive ? 1 : 0 })),
      },
      histogram('auraison_control_loop_latency_seconds', 'Time from a tick\'s scheduled start to its command being sent.', (s) => s.latency),
      histogram('auraison_control_loop_jitter_seconds', 'Lateness of a tick\'s start against its schedule.', (s) => s.jitter),
    ];
  }
}
