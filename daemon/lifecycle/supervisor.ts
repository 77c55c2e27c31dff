import type { Logger } from 'pino';
import type { EdgeConfig } from '../config/index.ts';
import type { Port, Ports, Provide } from '../contract/index.ts';
import type { Component, ComponentContext, ComponentHealth, ComponentSpec } from './component.ts';
import { FAILURE_LOG_INTERVAL_MS, StartFailureLog } from './start-failure-log.ts';
import { errorText, exponentialBackoff, withTimeout } from '../util/index.ts';
import { Wiring, type Provisions } from './wiring.ts';
import { CLOSE_FLOOR_MS, CLOSED, CloseBudget } from './close-budget.ts';
import { changedKeys, liveSlice } from './settings-diff.ts';

export interface SupervisorOptions {
  specs: readonly ComponentSpec[];
  log: Logger;
  /** Builds the context a component is created with (the supervisor adds the live components and their ports). */
  context: (config: EdgeConfig) => Omit<ComponentContext, 'components' | 'ports' | 'provide'>;
  /** Longest wait for one component to start before it counts as failed, ms. */
  startTimeoutMs?: number;
  /** First retry delay of a failed component, ms; it doubles up to 30 s. */
  retryBaseMs?: number;
  /** Longest a component failing to start the same way goes without a log line, ms (see FAILURE_LOG_INTERVAL_MS). */
  failureLogIntervalMs?: number;
  /** The clock of the failure log's windows, ms (tests step it). */
  now?: () => number;
}

interface Slot {
  spec: ComponentSpec;
  component: Component | undefined;
  settings: string;
  /** JSON of the spec's liveSettings slice, '' for a spec without one. */
  live: string;
  failure: string | undefined;
  retryTimer: NodeJS.Timeout | undefined;
  retries: number;
  /** The component's create() or start() while it is still running, when a stop came first (see #startSlot). */
  starting: Promise<void> | undefined;
}

export class CriticalComponentError extends Error {
  override name = 'CriticalComponentError';
}

/**
 * Starts components in spec order and stops them in reverse. A component that fails to start is reported
 * as failed and retried with backoff; only a `critical` one fails the daemon. A reload restarts exactly the
 * components whose settings slice changed.
 *
 * start, reload, stop and retries run one at a time, in call order, so a signal that comes in the middle
 * of one (SIGTERM while a model loads, SIGHUP during startup) never runs two starts of a component or
 * leaves one running after stop. stop is final: it cuts short a start or reload in flight (no further
 * component starts), waits for a component create or start in flight within its budget, and stops whatever
 * started. Every wait after stop() is bounded by its budget, so a component that never settles is
 * reported (logged and returned by stop) instead of holding the daemon until systemd kills it.
 */
export class Supervisor {
  #specs: readonly ComponentSpec[];
  #log: Logger;
  #makeContext: SupervisorOptions['context'];
  #startTimeoutMs: number;
  #retryBaseMs: number;
  #slots = new Map<string, Slot>();
  #live = new Map<string, Component>();
  /** What each live component registered in its create, by port. */
  #provided = new Map<string, Provisions>();
  #running = (name: string): Provisions | undefined => this.#provided.get(name);
  #wiring: Wiring;
  /** The live components' ports, resolved at each call (a provider may be restarting or disabled). */
  readonly ports: Ports;
  #config: EdgeConfig | undefined;
  #closing = false;
  /** Bounds every wait once stop() is called. */
  #budget = new CloseBudget();
  /** Components that did not finish their create, start or stop within the stop budget. */
  #unclosed = new Set<string>();
  /** The component the lifecycle operation in flight is creating, starting or stopping, for the log. */
  #busy: string | undefined;
  /** The lifecycle operation running now; the next one waits for it. */
  #chain: Promise<unknown> = Promise.resolve();
  /** Failed starts: one line per window for repeats of one error (see FAILURE_LOG_INTERVAL_MS). */
  #failureLog: StartFailureLog;

  constructor(options: SupervisorOptions) {
    const {
      specs,
      log,
      context,
      startTimeoutMs = 10_000,
      retryBaseMs = 1000,
      failureLogIntervalMs = FAILURE_LOG_INTERVAL_MS,
      now,
    } = options;
    this.#failureLog = new StartFailureLog(log, { intervalMs: failureLogIntervalMs, now });
    this.#wiring = new Wiring(specs); // a spec whose need cannot be resolved before it is created throws here
    this.ports = this.#wiring.live(this.#running);
    this.#specs = specs;
    this.#log = log;
    this.#makeContext = context;
    this.#startTimeoutMs = startTimeoutMs;
    this.#retryBaseMs = retryBaseMs;
  }

  get components(): ReadonlyMap<string, Component> {
    return this.#live;
  }

  /** Whether stop() was called; no component starts after that. */
  get stopping(): boolean {
    return this.#closing;
  }

  start(config: EdgeConfig): Promise<void> {
    return this.#serialize(async () => {
      this.#config = config;
      for (const spec of this.#specs) {
        if (this.#closing) return;
        if (spec.enabled(config)) await this.#startSlot(spec, config);
      }
    });
  }

  /**
   * Stops everything in reverse start order within `budgetMs` in all; a start or reload in flight ends
   * first. Resolves with the components that did not stop within the budget (each is logged), [] when all did.
   */
  close(budgetMs = 5000): Promise<string[]> {
    this.#closing = true;
    const deadline = this.#budget.begin(budgetMs);
    // Not #serialize: the operation in flight gets the budget, not forever (its own waits are bounded by
    // it too, so this only gives up on one that is stuck where nothing bounds it).
    const previous = this.#chain;
    const result = (async () => {
      if ((await this.#budget.within(previous, budgetMs)) === 'timeout') {
        const busy = this.#busy;
        if (busy !== undefined) this.#unclosed.add(busy);
        this.#log.error(
          { component: busy },
          'a lifecycle operation was still running when the stop budget ran out; stopping the rest',
        );
      }
      const slots = [...this.#slots.values()].reverse();
      for (const slot of slots) {
        clearTimeout(slot.retryTimer);
        await this.#closeSlot(slot, Math.max(deadline - performance.now(), CLOSE_FLOOR_MS));
      }
      this.#slots.clear();
      return [...this.#unclosed];
    })();
    this.#chain = result.catch(() => undefined);
    return result;
  }

  /** Applies a new, already validated config: restarts the components whose settings changed. */
  reload(config: EdgeConfig): Promise<string[]> {
    return this.#serialize(async () => {
      const restarted: string[] = [];
      if (this.#closing) return restarted;
      const changed = this.#specs.filter((spec) => {
        const slot = this.#slots.get(spec.name);
        const wanted = spec.enabled(config);
        if (!slot) return wanted;
        if (!wanted || slot.settings !== JSON.stringify(spec.settings(config))) return true;
        return slot.live !== liveSlice(spec, config) && !slot.component?.applySettings;
      });
      for (const spec of this.#specs) {
        const slot = this.#slots.get(spec.name);
        if (!slot || changed.includes(spec) || slot.live === liveSlice(spec, config)) continue;
        const keys = changedKeys(JSON.parse(slot.live || 'null'), spec.liveSettings?.(config) ?? null);
        try {
          slot.component?.applySettings?.(config);
          slot.live = liveSlice(spec, config);
          this.#log.info({ component: spec.name, changed: keys }, 'settings applied without a restart');
        } catch (error) {
          // It could not take them live: a restart brings it up with them.
          this.#log.warn(
            { component: spec.name, changed: keys, err: errorText(error) },
            'settings could not be applied live; restarting the component',
          );
          changed.push(spec);
        }
      }
      // A component handed a provider at its creation is restarted with it (after it, as it comes later).
      for (const spec of this.#specs) {
        if (changed.includes(spec) || !this.#slots.has(spec.name)) continue;
        if (changed.some((p) => this.#wiring.dependsOn(spec, p, config))) changed.push(spec);
      }
      changed.sort((a, b) => this.#specs.indexOf(a) - this.#specs.indexOf(b));
      for (const spec of [...changed].reverse()) {
        const slot = this.#slots.get(spec.name);
        if (slot) {
          clearTimeout(slot.retryTimer);
          const keys = changedKeys(JSON.parse(slot.settings), spec.settings(config));
          const live =
            slot.live === liveSlice(spec, config)
              ? []
              : changedKeys(JSON.parse(slot.live || 'null'), spec.liveSettings?.(config) ?? null);
          const why = spec.enabled(config)
            ? `restarted for a config reload (${[...keys, ...live].join(', ') || 'settings'} changed)`
            : 'disabled by a config reload';
          await this.#closeSlot(slot, 5000, `the ${spec.name} component ${why}`);
          this.#slots.delete(spec.name);
        }
      }
      this.#config = config;
      for (const spec of changed) {
        // A stop that came meanwhile wins: what is left stays stopped (stop() runs right after this).
        if (this.#closing) break;
        if (spec.enabled(config)) await this.#startSlot(spec, config);
        restarted.push(spec.name);
      }
      return restarted;
    });
  }

  health(): Record<string, ComponentHealth> {
    const out: Record<string, ComponentHealth> = {};
    for (const [name, slot] of this.#slots) {
      if (slot.failure !== undefined)
        out[name] = { state: 'failed', reason: slot.failure, details: { retries: slot.retries } };
      else if (slot.component) out[name] = safeHealth(slot.component);
    }
    return out;
  }

  /** Runs `operation` after every lifecycle operation called before it has settled. */
  #serialize<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.#chain.then(operation);
    this.#chain = result.catch(() => undefined); // the caller gets the error; the chain goes on
    return result;
  }

  async #startSlot(spec: ComponentSpec, config: EdgeConfig): Promise<void> {
    if (!this.#slots.has(spec.name)) this.#failureLog.restarted(spec.name);
    const slot: Slot = this.#slots.get(spec.name) ?? {
      spec,
      component: undefined,
      settings: JSON.stringify(spec.settings(config)),
      live: liveSlice(spec, config),
      failure: undefined,
      retryTimer: undefined,
      retries: 0,
      starting: undefined,
    };
    this.#slots.set(spec.name, slot);
    // Never two instances of one component: a live one is stopped before another is made.
    if (slot.component) await this.#closeSlot(slot, 5000);
    this.#busy = spec.name;
    try {
      const needs = this.#wiring.resolve(spec, config, this.#running, (name) => this.#slots.get(name)?.failure);
      const provided = new Map<Port<unknown>, unknown>();
      let creating = true;
      const provide: Provide = (port, service) => {
        if (!creating) throw new Error(`the ${spec.name} component provided ${port.name} after its create returned`);
        if (!spec.provides?.includes(port))
          throw new Error(
            `the ${spec.name} component provided ${port.name}, which its spec does not: declare it in its spec's provides`,
          );
        provided.set(port, service);
      };
      const ports = this.#wiring.scoped(spec, this.#running);
      const created = Promise.resolve()
        .then(() => spec.create({ ...this.#makeContext(config), components: this.#live, ports, provide }, needs))
        .finally(() => (creating = false));
      // A stop does not wait for create either (it may connect somewhere): it takes over, as for start below.
      const made = await this.#budget.untilClosed(created);
      if (made === CLOSED) {
        slot.starting = created.then(
          (component) => void (slot.component = component),
          () => undefined,
        );
        return;
      }
      const component = made;
      slot.component = component;
      this.#wiring.checkProvides(spec, provided);
      const timeout = spec.startTimeout?.(config);
      const ms = timeout?.ms ?? this.#startTimeoutMs;
      const starting = withTimeout(
        component.start(),
        ms,
        `${spec.name} did not start within ${ms} ms${timeout ? ` (${timeout.key})` : ''}`,
      );
      // A stop does not wait for a model to load: it takes over this start (and stops the component once
      // the start has settled, within its budget).
      if ((await this.#budget.untilClosed(starting)) === CLOSED) {
        slot.starting = starting.catch(() => undefined);
        return;
      }
      const failedStarts = slot.failure === undefined ? 0 : slot.retries;
      slot.failure = undefined;
      slot.retries = 0;
      this.#live.set(spec.name, component);
      this.#provided.set(spec.name, provided);
      this.#failureLog.started(spec.name, failedStarts);
    } catch (error) {
      const reason = errorText(error);
      if (spec.critical) throw new CriticalComponentError(`${spec.name} failed to start: ${reason}`);
      slot.failure = reason;
      this.#live.delete(spec.name);
      this.#provided.delete(spec.name);
      const never = slot.component;
      slot.component = undefined;
      if (never) {
        // Best effort, as it never started; bounded, as its stop may wait on that start.
        const stopped = await this.#budget.within(never.close(), this.#startTimeoutMs).catch(() => 'failed' as const);
        if (stopped === 'timeout') this.#didNotClose(spec.name, 'after its failed start');
      }
      if (this.#closing) return;
      const delay = exponentialBackoff(slot.retries, { firstMs: this.#retryBaseMs, maxMs: 30_000 });
      slot.retries++;
      this.#failureLog.failed(spec.name, reason, { retryInMs: delay, failedStarts: slot.retries });
      this.#retry(slot, delay);
    } finally {
      this.#busy = undefined;
    }
  }

  /** Starts `slot`'s component again after `delay` ms, in line with reloads and stop. */
  #retry(slot: Slot, delay: number): void {
    clearTimeout(slot.retryTimer);
    slot.retryTimer = setTimeout(() => {
      // In line with reloads and stop, never beside them.
      void this.#serialize(async () => {
        if (this.#closing || !this.#config || this.#slots.get(slot.spec.name) !== slot) return;
        await this.#startSlot(slot.spec, this.#config);
      }).catch((error: unknown) =>
        this.#log.error({ component: slot.spec.name, err: errorText(error) }, 'component retry failed'),
      );
    }, delay);
    slot.retryTimer.unref();
  }

  async #closeSlot(slot: Slot, budgetMs: number, reason?: string): Promise<void> {
    const name = slot.spec.name;
    this.#live.delete(name);
    this.#provided.delete(name);
    const deadline = performance.now() + budgetMs;
    const pending = slot.starting;
    if (pending) {
      // Stopping a component halfway through its start would leave what the rest of start() opens running.
      const settled = (await this.#budget.within(pending, budgetMs, CLOSE_FLOOR_MS)) === 'done';
      slot.starting = undefined;
      if (!settled && !slot.component) {
        // Still in create(): there is nothing to stop yet. Should it be made after all, it is stopped then.
        this.#didNotClose(name, 'it was still being created');
        void pending.then(() => {
          const late = slot.component;
          slot.component = undefined;
          late?.close().catch(() => undefined); // best effort: no one waits for it any more
        });
        return;
      }
      if (!settled)
        this.#log.error(
          { component: name },
          'component was still starting when the stop budget ran out; stopping it anyway',
        );
    }
    const component = slot.component;
    slot.component = undefined;
    if (!component) return;
    const left = Math.max(deadline - performance.now(), CLOSE_FLOOR_MS);
    this.#busy = name;
    try {
      if ((await this.#budget.within(component.close(reason), left, CLOSE_FLOOR_MS)) === 'timeout')
        this.#didNotClose(name, `within ${left} ms`);
      else this.#log.info({ component: name }, 'component stopped');
    } catch (error) {
      this.#log.error({ component: name, err: errorText(error) }, 'component stop failed');
    } finally {
      this.#busy = undefined;
    }
  }

  #didNotClose(name: string, why: string): void {
    if (this.#closing) this.#unclosed.add(name);
    this.#log.error({ component: name }, `component did not stop (${why}); the daemon goes on without waiting for it`);
  }
}

function safeHealth(component: Component): ComponentHealth {
  try {
    return component.health();
  } catch (error) {
    return { state: 'degraded', reason: `health check threw: ${errorText(error)}` };
  }
}
