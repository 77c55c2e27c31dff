import type { MetricFamily, MetricsProvider } from '../contract/index.ts';
import type { Component, ComponentContext, ComponentHealth } from '../lifecycle/index.ts';
import { PolicyThread } from './policy-thread.ts';
import type { DecodePool } from './vision/decode-pool.ts';
import { VlaService } from './vla-service.ts';

/**
 * Component `policies`: loads every policy of `policies` and answers `ai/inference/vla/<name>` for those
 * with `serve: true`, each in its own worker thread (PolicyThread), so a slow model never holds up the
 * main thread. Control loops load their own sessions in their worker threads, so a query never competes
 * with a loop for a session.
 */
export class PoliciesComponent implements Component, MetricsProvider {
  readonly name = 'policies';
  #ctx: ComponentContext;
  readonly #decodePool: DecodePool | undefined;
  #threads = new Map<string, PolicyThread>();
  #services: VlaService[] = [];
  #state: ComponentHealth['state'] = 'stopped';
  /** Bumped by stop(): a start still loading models when it ran (a start timeout) must not go on. */
  #generation = 0;

  /** `decodePool`: the daemon's decode processes (the cameras component), which image inputs' frames share. */
  constructor(ctx: ComponentContext, decodePool?: DecodePool) {
    this.#ctx = ctx;
    this.#decodePool = decodePool;
  }

  async start(): Promise<void> {
    this.#state = 'starting';
    const { config, bus, log } = this.#ctx;
    const generation = this.#generation;
    try {
      for (const [name, settings] of Object.entries(config.policies)) {
        if (!settings.serve || settings.remote) continue;
        const thread = await PolicyThread.open(name, settings);
        if (generation !== this.#generation) {
          await thread.close(); // stopped while it loaded: its thread and query must not outlive the stop
          throw new Error(`policy ${name}: stopped while loading`);
        }
        this.#threads.set(name, thread);
        const service = new VlaService(bus, thread, { decodePool: this.#decodePool });
        this.#services.push(service);
        log.info(
          { policy: name, model: settings.model, provider: settings.provider, query: service.name },
          'policy serving',
        );
      }
    } catch (error) {
      await this.close();
      throw error;
    }
    this.#state = 'running';
  }

  async close(): Promise<void> {
    this.#generation++;
    const services = this.#services;
    this.#services = [];
    await Promise.all(services.map((s) => s.close()));
    await Promise.all([...this.#threads.values()].map((t) => t.close()));
    this.#threads.clear();
    this.#state = 'stopped';
  }

  /** The policies this component serves (for the API's list of queries). */
  served(): string[] {
    return this.#services.map((s) => s.name);
  }

  health(): ComponentHealth {
    const dead = [...this.#threads].filter(([, t]) => t.dead).map(([name, t]) => `policy ${name}: ${t.dead!.message}`);
    return {
      // A serving thread that died answers every query inference_failed: say so rather than "running".
      ...(this.#state === 'running' && dead.length > 0
        ? { state: 'degraded' as const, reason: dead.join('; ') }
        : { state: this.#state }),
      details: Object.fromEntries(
        this.#services.map((s) => [s.name, { queries: s.stats.queries, errors: s.stats.errors, pending: s.pending }]),
      ),
    };
  }

  metrics(): MetricFamily[] {
    return [
      {
        name: 'auraison_policy_queries_total',
        help: 'ai/inference/vla queries answered, per policy.',
        type: 'counter',
        samples: this.#services.map((s) => ({ labels: { query: s.name }, value: s.stats.queries })),
      },
      {
        name: 'auraison_policy_query_errors_total',
        help: 'ai/inference/vla queries answered with an error, per policy and code.',
        type: 'counter',
        samples: this.#services.flatMap((s) =>
          Object.entries(s.stats.errorsByCode).map(([code, value]) => ({ labels: { query: s.name, code }, value })),
        ),
      },
    ];
  }
}
