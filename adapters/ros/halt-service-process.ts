import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { apiFilePath } from '../../daemon/api/index.ts';
import type { StopSettings } from '../../daemon/config/index.ts';
import type { Component, ComponentContext, ComponentHealth } from '../../daemon/lifecycle/index.ts';
import { Backoff, errorText, PACKAGE_ROOT } from '../../daemon/util/index.ts';

// Shipped as it is (not bundled): the same path from the sources and from dist/.
const SCRIPT = join(PACKAGE_ROOT, 'adapters', 'ros', 'halt_service_node.py');
/** How long a node that was asked to end (its stdin closed) has before it is killed. */
const END_GRACE_MS = 3000;
/** A node that served this long before it died is restarted after the first wait again. */
const HELD_MS = 30_000;

type Settings = StopSettings['ros_service'];

/**
 * The operator's stop as a ROS 2 service served by a process of its own (halt_service_node.py, rclpy), so a ROS
 * client's stop reaches the stop listener's thread without waiting for the daemon's main loop, where rclnodejs runs.
 * The node is started at start and again, after a backoff, whenever it dies; this component is degraded, saying why,
 * while it does not serve. Its stderr goes to the daemon's log.
 */
export class RosHaltServiceProcess implements Component {
  readonly name = 'ros_stop';
  readonly #ctx: ComponentContext;
  readonly #settings: Settings;
  readonly #backoff = new Backoff({ firstMs: 500, maxMs: 30_000 });
  #child: ChildProcessWithoutNullStreams | undefined;
  #retry: NodeJS.Timeout | undefined;
  #closing = false;
  #serving = false;
  #servedAt = 0;
  #starts = 0;
  #calls = 0;
  #failedCalls = 0;
  #problem: string | undefined;
  /** What the node's ready line said: its resolved service name and the scheduling it got. */
  #ready: { resolved?: string; scheduling?: string } = {};
  /** Whether a flood of calls took the node out of real time (until a quiet second). */
  #flooded = false;

  constructor(ctx: ComponentContext) {
    this.#ctx = ctx;
    this.#settings = ctx.config.motion.stop.ros_service;
  }

  start(): Promise<void> {
    this.#spawn();
    return Promise.resolve();
  }

  async close(): Promise<void> {
    this.#closing = true;
    clearTimeout(this.#retry);
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const ended = new Promise<void>((resolve) => child.once('close', () => resolve()));
    child.stdin.end();
    const kill = setTimeout(() => child.kill('SIGKILL'), END_GRACE_MS);
    await ended;
    clearTimeout(kill);
  }

  health(): ComponentHealth {
    const { python, name } = this.#settings;
    const details = {
      service: name,
      python,
      pid: this.#child?.pid ?? null,
      serving: this.#serving,
      starts: this.#starts,
      calls: this.#calls,
      failed_calls: this.#failedCalls,
      ...(this.#ready.resolved ? { resolved: this.#ready.resolved } : {}),
      ...(this.#ready.scheduling ? { scheduling: this.#ready.scheduling } : {}),
      flooded: this.#flooded,
    };
    if (this.#serving) return { state: 'running', details };
    if (this.#problem === undefined) return { state: 'starting', details };
    return { state: 'degraded', reason: this.#problem, details };
  }

  #spawn(): void {
    const { python, name } = this.#settings;
    const { log, config, dataDir } = this.#ctx;
    this.#starts += 1;
    const child = spawn(
      python,
      [SCRIPT, name, `${config.ros.node_name}_stop`, config.ros.namespace, apiFilePath(dataDir)],
      {
        env: { ...process.env, PYTHONUNBUFFERED: '1', AURAISON_EDGE_API_TOKEN: config.api.token },
      },
    );
    this.#child = child;
    let lastError = '';
    createInterface({ input: child.stdout }).on('line', (line) => this.#event(line));
    createInterface({ input: child.stderr }).on('line', (line) => {
      if (!line.trim()) return;
      lastError = line;
      log.warn({ service: name, line }, 'ros_stop: the stop service node wrote to stderr');
    });
    child.on('error', (error) => {
      // spawn's own failure (no such python): 'close' follows it
      lastError = `${python} could not be run: ${errorText(error)}`;
    });
    child.on('close', (code, signal) => {
      if (this.#child === child) this.#child = undefined;
      const servedFor = this.#serving ? performance.now() - this.#servedAt : 0;
      this.#serving = false;
      if (this.#closing) return;
      if (servedFor > HELD_MS) this.#backoff.reset();
      const wait = this.#backoff.next();
      const ended = signal ? `killed by ${signal}` : `exited with ${code}`;
      this.#problem =
        `the ROS 2 stop service ${name} is not served: its node (motion.stop.ros_service.python: ${python}) ${ended}` +
        `${lastError ? `: ${lastError}` : ''}; restarting it in ${Math.round(wait)} ms`;
      log.warn({ service: name }, `ros_stop: ${this.#problem}`);
      this.#retry = setTimeout(() => this.#spawn(), wait);
      this.#retry.unref();
    });
  }

  /** One JSON line of the node's stdout. */
  #event(line: string): void {
    let event: {
      event?: string;
      success?: boolean;
      door?: string | null;
      message?: string;
      service?: string;
      scheduling?: string;
      calls?: number;
    };
    try {
      event = JSON.parse(line) as typeof event;
    } catch {
      this.#ctx.log.info({ line }, 'ros_stop: the stop service node wrote');
      return;
    }
    if (event.event === 'ready') {
      this.#serving = true;
      this.#servedAt = performance.now();
      this.#problem = undefined;
      this.#flooded = false;
      this.#ready = {
        ...(typeof event.service === 'string' ? { resolved: event.service } : {}),
        ...(typeof event.scheduling === 'string' ? { scheduling: event.scheduling } : {}),
      };
      this.#ctx.log.info(
        { service: this.#settings.name, pid: this.#child?.pid, ...this.#ready },
        'ros_stop: serving the stop',
      );
    } else if (event.event === 'flooded') {
      this.#flooded = true;
      this.#ctx.log.warn(
        { service: this.#settings.name, calls: event.calls },
        'ros_stop: the stop service is flooded with calls: its node left real time until a quiet second',
      );
    } else if (event.event === 'real_time_again') {
      this.#flooded = false;
      this.#ctx.log.info({ service: this.#settings.name }, 'ros_stop: the flood ended: the node runs real time again');
    } else if (event.event === 'call') {
      this.#calls += 1;
      if (!event.success) {
        this.#failedCalls += 1;
        this.#ctx.log.error({ service: this.#settings.name, message: event.message }, 'ros_stop: a stop failed');
      }
    }
  }
}
