import { statfs } from 'node:fs/promises';
import { deferSighup, installSignalHandlers } from '../../lifecycle/index.ts';
import type { StatusFileWriter } from '../../status/index.ts';
import { type Command, type CommandIO, parseCommandArgs } from '../../cli-kit/index.ts';
import { resolveRunConfig } from '../config-option.ts';
import { errorText } from '../../util/index.ts';

/** How often the daemon's health line is read for systemd's STATUS and the journal. */
const HEALTH_CHECK_MS = 2000;

/** How far each EXTEND_TIMEOUT_USEC reaches while the daemon starts; sent at half of it. */
const START_EXTENSION_MS = 30_000;

export const command: Command = {
  name: 'run',
  summary: 'Run the daemon in the foreground (as systemd runs it)',
  help: `Usage: auraison-edge run [--config FILE]

Runs the daemon in the foreground until SIGTERM or SIGINT, logging JSON lines to stderr.

Options:
  --config FILE   YAML config (default: $AURAISON_EDGE_CONFIG, else the embedded default:
                  the turtlebot-maze simulator on, data in ./.auraison-edge, no central)

Signals:
  SIGTERM, SIGINT  stop gracefully within 5 s, flushing what must be flushed. A second one is only
                   logged (ros2 launch sends SIGINT, then SIGTERM); a third exits at once, unflushed
  SIGHUP           reload the config file; components whose settings changed restart, and an invalid,
                   empty or missing file is rejected (logged, and in /status as last_reload) while the
                   running config stays in force. One that comes during startup is applied once the
                   daemon is running; one after a stop signal is ignored, and so is every one when
                   the daemon runs the embedded default (no file to reload). data_dir, journal.fsync,
                   interval_ms, segment_mb, a new bus.definitions.distro and removed
                   bus.definitions.dirs take effect on restart (added dirs apply at once).
                   A restart of the agent ends the runs it is driving (interrupted, the reason says
                   so); policy.* changes apply to the running agent without a restart. Did it apply?
                   \`auraison-edge status --config FILE\` prints the last reload;
                   \`auraison-edge reload --config FILE\` sends SIGHUP and waits for the outcome

Under systemd (Type=notify, see \`auraison-edge install-service\`) it reports READY once every component
has started, RELOADING on SIGHUP, STOPPING on SIGTERM, and pings the watchdog only while no component
reports its real-time work stalled. Its STATUS (and a journal line) changes with its readiness: \`running\`, or
\`running, not ready: \` and each failed check, with why (a blind control loop names its input and topic).

Exit codes: 0 stopped cleanly, 1 failed, 2 bad usage or invalid config.
`,
  async run(argv, io) {
    const { values } = parseCommandArgs(argv, { config: { type: 'string' } });
    // A SIGHUP must never kill the daemon (its default action), also before its handlers are in place;
    // one that came by then is a reload once the daemon runs (the file may have changed after it was read).
    const releaseSighup = deferSighup();
    let handedOver = false;
    try {
      return await runDaemon(values.config, io, () => {
        handedOver = true;
        return releaseSighup();
      });
    } finally {
      if (!handedOver) releaseSighup();
    }
  },
};

/** The daemon from start to stop; `takeOverSighup` ends run's SIGHUP guard and says whether one came. */
async function runDaemon(configArg: string | undefined, io: CommandIO, takeOverSighup: () => boolean): Promise<number> {
  const { config, file } = await resolveRunConfig(configArg, io.env);
  const { createLogger } = await import('../../log.ts');
  const { Daemon } = await import('../../daemon.ts');
  const { startStatusFile } = await import('../../status/index.ts');
  const { HealthWatch, SystemdNotifier, nameMainThread } = await import('../../lifecycle/index.ts');
  const { checkReadiness, readinessLine } = await import('../../api/index.ts');

  // What top, ps -e and systemd's messages call it: Node.js 24 would show MainThread.
  nameMainThread('auraison-edge');

  const log = createLogger({ level: config.log.level });
  const daemon = new Daemon({ config, configFile: file, log, cwd: io.cwd });
  const systemd = new SystemdNotifier({ env: io.env, log });
  if (systemd.enabled) daemon.reportHealth('systemd', () => systemd.health());
  // A peer's fault must never take the daemon down: log what escaped and keep running.
  const onUnhandled = (error: unknown): void =>
    log.error({ err: error instanceof Error ? error.stack : String(error) }, 'unhandled error (daemon keeps running)');
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);

  let resolveStopped!: (code: number) => void;
  const stopped = new Promise<number>((resolve) => (resolveStopped = resolve));
  // The daemon runs until a stop signal, also when no component holds the event loop open (no API, no
  // sim: every timer of ours is unref'd). Without this, node would exit as soon as the loop drained.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  let statusFile: StatusFileWriter | undefined;
  // What is wrong, as it changes: in systemd's STATUS (systemctl status) and the journal, once per change.
  const health = new HealthWatch({
    read: async () => {
      const line = readinessLine(
        await checkReadiness({
          status: daemon.status(),
          dataDir: daemon.dataDir,
          freeBytes: async () => ((s) => s.bavail * s.bsize)(await statfs(daemon.dataDir)),
          minFreeBytes: config.api.ready.min_free_bytes,
          modelConfigured: config.llm.endpoints.length > 0,
        }),
      );
      log.debug({ line }, 'health checked');
      return line;
    },
    everyMs: HEALTH_CHECK_MS,
    onChange: (line, before) => {
      if (stopping || (before === undefined && line === 'ready')) return; // READY said so
      void systemd.status(line === 'ready' ? 'running' : `running, ${line}`);
      if (line === 'ready') log.info({ was: before }, 'daemon ready again');
      else log.warn({ status: line }, 'daemon not ready');
    },
  });
  let stopping = false;
  // A SIGHUP during startup waits for the start to finish, then reloads: the file may have changed after
  // it was read, and a reload beside a start would start components twice.
  let resolveStarted!: (ok: boolean) => void;
  const started = new Promise<boolean>((resolve) => (resolveStarted = resolve));
  let running = false;
  const removeSignals = installSignalHandlers(
    {
      stop: async () => {
        stopping = true;
        health.close(); // no STATUS after STOPPING
        // Not awaited: systemd-notify waits until PID 1 has read the message (up to its 5 s timeout when PID 1
        // is busy), and TimeoutStopSec counts from the SIGTERM. systemd, which sent it, knows already.
        void systemd.stopping();
        try {
          // Also cuts a start or reload in flight short, and stops what it started.
          await daemon.close(4500);
          statusFile?.close('stopped');
          resolveStopped(0);
        } catch (error) {
          log.error({ err: errorText(error) }, 'stop failed');
          resolveStopped(1);
        }
      },
      reload: async () => {
        if (!file) {
          log.warn('SIGHUP ignored: running the embedded default config (no --config file to reload)');
          return;
        }
        if (!running) log.info('SIGHUP during startup: the config is reloaded once the daemon is running');
        if (!(await started)) return; // the start failed or a stop came: nothing to reload
        if (stopping) {
          log.warn('SIGHUP ignored: the daemon is stopping; start it again to use the config file as it is now');
          return;
        }
        await systemd.reloading();
        let status = 'running';
        try {
          const outcome = await daemon.reloadFile(io.env);
          if (outcome && !outcome.ok)
            status = `running; config reload rejected, the running config stays: ${outcome.error?.split('\n')[0] ?? ''}`;
        } finally {
          // Always after RELOADING=1, also when the reload was refused or failed: until READY=1 systemd
          // holds the unit in "reloading" (and under Type=notify-reload, `systemctl reload` waits).
          if (!stopping) {
            statusFile?.write(); // the outcome, at once: `auraison-edge reload` (systemd's ExecReload) waits on it
            await systemd.ready(status);
            // READY's STATUS said the reload's outcome: the health line says what is wrong again, if anything is.
            if (status === 'running') void health.check(true);
          }
        }
      },
    },
    log,
    // Removed and replaced in one synchronous step: no SIGHUP can fall between them.
    { hupPending: takeOverSighup() },
  );
  try {
    // Each component's start is bounded by its own timeout; systemd's TimeoutStartSec (60 s) is extended while
    // they take turns, so a slow model load is not killed by systemd before its own limit says so.
    const stopExtending = systemd.extendStartWhile({ byMs: START_EXTENSION_MS, everyMs: START_EXTENSION_MS / 2 });
    try {
      await daemon.start();
    } catch (error) {
      resolveStarted(false);
      throw error;
    } finally {
      stopExtending();
    }
    // A stop signal during startup: the daemon is stopping (or stopped); no READY, no status file.
    if (stopping) {
      resolveStarted(false);
      return await stopped;
    }
    statusFile = startStatusFile(daemon);
    await systemd.ready('running');
    health.start();
    if (stopping) return await stopped; // a stop signal while READY was being sent
    systemd.startWatchdog(() => {
      const stalled = Object.entries(daemon.status().components).filter(([, h]) => h.alive === false);
      return stalled.length === 0
        ? { ok: true }
        : { ok: false, reason: stalled.map(([n, h]) => `${n}: ${h.reason ?? 'stalled'}`).join('; ') };
    });
    running = true;
    resolveStarted(true);
    return await stopped;
  } finally {
    health.close();
    clearInterval(keepAlive);
    removeSignals();
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUnhandled);
  }
}
