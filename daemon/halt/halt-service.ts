import type { QueryPayload } from '../bus/index.ts';
import type {
  MetricFamily,
  MetricsProvider,
  RobotHaltOutcome,
  RobotHaltService,
  HaltReleaseOutcome,
} from '../contract/index.ts';
import type { Component, ComponentContext, ComponentHealth } from '../lifecycle/index.ts';
import { latchedMessage } from './halt-latch.ts';
import { parseHaltQuery } from './halt-order.ts';
import { gauge } from '../util/index.ts';

/** The bus query every robot process can stop the robot with. */
export const HALT_QUERY = 'agent/stop';

/**
 * Serves the bus query `agent/stop` (JSON `{by?, reason?}`, or nothing): the operator's stop for any
 * process on the bus, a ROS node's e-stop button or a Zenoh peer. It starts first and stops last, so the
 * query is answered as long as anything else of the daemon runs, and it is answered with or without an
 * agent (see operatorStop): a robot that runs only System 1 loops, or the moment a reload restarts the
 * agent, is stopped and latched all the same. There is no bus query to release: a person releases the
 * robot (POST /stop/release, `auraison-edge stop --release`, the status page).
 *
 * The stop itself is the daemon's HaltAuthority (ComponentContext.haltAuthority), which POST /stop and the status page
 * call as well.
 *
 * It also shows the latch, agent or none: `stop_latch` in its status details (what the status page and
 * `auraison-edge status` show) and the gauge auraison_agent_stop_latched (named when only the agent had it).
 */
export class HaltService implements Component, RobotHaltService, MetricsProvider {
  readonly name = 'stop';
  readonly #ctx: ComponentContext;
  #unserve: (() => void) | undefined;
  /** Queries taken, whatever came of them (an unreadable request, a robot not stopped). */
  #asked = 0;

  constructor(ctx: ComponentContext) {
    this.#ctx = ctx;
  }

  halt(by: string, reason?: string): Promise<RobotHaltOutcome> {
    return this.#ctx.haltAuthority.halt(by, reason);
  }

  releaseHalt(by: string, since?: string): Promise<HaltReleaseOutcome> {
    return this.#ctx.haltAuthority.release(by, since);
  }

  async start(): Promise<void> {
    // A latch from before this start: held from now on, whoever reads it first. The agent logs it as it
    // starts; with no agent, this is the daemon's only word of why nothing moves.
    const { latched, ignored } = this.#ctx.haltAuthority.load();
    if (!this.#ctx.config.agent.enabled) {
      if (latched)
        this.#ctx.log.warn(
          { stop_latch: latched, file: this.#ctx.haltAuthority.latch.path },
          `${latchedMessage(latched)}: the stop is latched since before this start`,
        );
      if (ignored) this.#ctx.log.warn({ file: this.#ctx.haltAuthority.latch.path }, ignored);
    }
    this.#unserve = this.#ctx.bus.serve(HALT_QUERY, (request) => this.#answerHalt(request));
  }

  async close(): Promise<void> {
    this.#unserve?.();
    this.#unserve = undefined;
  }

  health(): ComponentHealth {
    return {
      state: this.#unserve ? 'running' : 'stopped',
      details: {
        query: HALT_QUERY,
        asked: this.#asked,
        ...this.#ctx.haltAuthority.counters,
        stop_latch: this.#ctx.haltAuthority.latch.state ?? null,
      },
    };
  }

  metrics(): MetricFamily[] {
    return [
      gauge(
        'auraison_agent_stop_latched',
        "1 while the operator's stop is latched (nothing the daemon governs moves the robot), else 0.",
        this.#ctx.haltAuthority.latch.state ? 1 : 0,
      ),
    ];
  }

  async #answerHalt(request: QueryPayload): Promise<QueryPayload> {
    this.#asked++;
    const body = parseHaltQuery(request.payload);
    const outcome = await this.halt(body.by ?? 'bus', body.reason);
    return { encoding: 'application/json', payload: new TextEncoder().encode(JSON.stringify(outcome)) };
  }
}
