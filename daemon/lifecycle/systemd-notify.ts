import { execFile } from 'node:child_process';
import type { Logger } from 'pino';
import { rateLimitedErrors, errorText } from '../util/index.ts';
import type { ComponentHealth } from './component.ts';

export type NotifySender = (args: string[]) => Promise<void>;

/**
 * Sends sd_notify messages through the `systemd-notify` tool (Node has no AF_UNIX datagram sockets).
 * `--pid` attributes each message to the daemon, and without `--no-block` the tool waits on a barrier until
 * systemd has read it, so the short-lived sender is not a problem; the unit needs NotifyAccess=all.
 */
const sendWithTool: NotifySender = (args) =>
  new Promise((resolve, reject) => {
    execFile('systemd-notify', [`--pid=${process.pid}`, ...args], { timeout: 5000 }, (error) =>
      error ? reject(error) : resolve(),
    );
  });

/**
 * The daemon's side of Type=notify and WatchdogSec. Does nothing unless systemd set NOTIFY_SOCKET, so the
 * same binary runs in a terminal, a launch file or a container.
 */
export class SystemdNotifier {
  readonly enabled: boolean;
  /** Watchdog period systemd asked for (WATCHDOG_USEC), ms; undefined when the unit has no WatchdogSec. */
  readonly watchdogMs: number | undefined;
  #send: NotifySender;
  #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #logFailure: ReturnType<typeof rateLimitedErrors>;
  /** Failures in a row, and in all; health turns degraded at `#degradedAfter` in a row. */
  #failures = 0;
  #totalFailures = 0;
  #lastError: string | undefined;
  #degradedAfter: number;
  /** Notifications still being sent (each a short-lived systemd-notify process). */
  #inFlight = new Set<Promise<void>>();

  constructor(options: { env?: NodeJS.ProcessEnv; log: Logger; send?: NotifySender; degradedAfter?: number }) {
    const { env = process.env, log, send = sendWithTool, degradedAfter = 3 } = options;
    this.enabled = Boolean(env.NOTIFY_SOCKET);
    const usec = Number(env.WATCHDOG_USEC);
    const forUs = env.WATCHDOG_PID === undefined || Number(env.WATCHDOG_PID) === process.pid;
    this.watchdogMs = this.enabled && forUs && usec > 0 ? usec / 1000 : undefined;
    this.#send = send;
    this.#log = log;
    this.#degradedAfter = degradedAfter;
    // A socket that is gone fails every watchdog ping (every WatchdogSec/2): log the first few, then one
    // line per 10 minutes with the count held back (health already says it is failing).
    this.#logFailure = rateLimitedErrors(log, { first: 3, intervalMs: 600_000 });
  }

  /** For /status and readiness (as `systemd`): degraded while notifications keep failing. */
  health(): ComponentHealth {
    const details = {
      failures: this.#totalFailures,
      failing_in_a_row: this.#failures,
      watchdog_ms: this.watchdogMs ?? null,
    };
    if (this.#failures >= this.#degradedAfter) {
      return {
        state: 'degraded',
        reason: `systemd-notify failed ${this.#failures} times in a row (${this.#lastError}): systemd sees no READY or watchdog pings`,
        details,
      };
    }
    return { state: 'running', details };
  }

  ready(status: string): Promise<void> {
    return this.#notify(['--ready', `--status=${status}`]);
  }

  /**
   * RELOADING=1 with MONOTONIC_USEC, which Type=notify-reload (systemd 253+) needs to tie it to the SIGHUP
   * it sent (process.hrtime is CLOCK_MONOTONIC on Linux). Every one must be followed by ready(), also when
   * the reload is refused: systemd holds the unit in "reloading", and `systemctl reload` waits, until then.
   */
  reloading(): Promise<void> {
    return this.#notify(['RELOADING=1', `MONOTONIC_USEC=${process.hrtime.bigint() / 1000n}`]);
  }

  /**
   * STOPPING=1, after any notification still on its way (a watchdog ping sent just before the stop): each is
   * its own process, and one started earlier could otherwise reach systemd after the STOPPING.
   */
  async stopping(): Promise<void> {
    this.stopWatchdog();
    await Promise.all([...this.#inFlight]);
    return this.#notify(['STOPPING=1']);
  }

  status(text: string): Promise<void> {
    return this.#notify([`--status=${text}`]);
  }

  /**
   * While the start makes progress, asks systemd for `byMs` more from now (EXTEND_TIMEOUT_USEC, systemd 236+),
   * every `everyMs`, from the event loop: the unit's TimeoutStartSec is one budget for every component, and
   * policies and control loops each may take control.start_timeout_s, one after the other. A start whose
   * event loop is stuck sends nothing more, and systemd's timeout still ends it. The returned function stops it.
   */
  extendStartWhile({ byMs, everyMs }: { byMs: number; everyMs: number }): () => void {
    if (!this.enabled) return () => undefined;
    const extend = () => void this.#notify([`EXTEND_TIMEOUT_USEC=${byMs * 1000}`, '--status=starting']);
    extend();
    const timer = setInterval(extend, everyMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  /**
   * Pings the watchdog at half its period while `alive()` holds. When it stops holding, the pings stop
   * and systemd restarts the service after WatchdogSec: a hung control loop is not left running.
   */
  startWatchdog(alive: () => { ok: boolean; reason?: string }): void {
    if (this.watchdogMs === undefined) return;
    let wasOk = true;
    this.#timer = setInterval(() => {
      const { ok, reason } = alive();
      if (ok) void this.#notify(['WATCHDOG=1']);
      else if (wasOk) this.#log.error({ reason }, 'liveness check failed: no longer pinging the systemd watchdog');
      wasOk = ok;
    }, this.watchdogMs / 2);
    this.#timer.unref();
  }

  stopWatchdog(): void {
    clearInterval(this.#timer);
  }

  #notify(args: string[]): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    const sent = this.#sendOne(args);
    this.#inFlight.add(sent);
    return sent.finally(() => this.#inFlight.delete(sent));
  }

  /** Never rejects: a failure is counted and logged. */
  async #sendOne(args: string[]): Promise<void> {
    try {
      await this.#send(args);
      if (this.#failures > 0) this.#log.info({ after: this.#failures }, 'systemd-notify works again');
      this.#failures = 0;
    } catch (error) {
      // Losing a notification must not take the daemon down; systemd will act on the missing ping.
      this.#failures++;
      this.#totalFailures++;
      this.#lastError = errorText(error);
      this.#logFailure('systemd-notify', { err: this.#lastError, args }, 'systemd-notify failed');
    }
  }
}
