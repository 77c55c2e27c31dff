import { ConfigError, resolveDataDir } from '../../config/index.ts';
import { alive, dataDirHeld, readOwner } from '../../lifecycle/index.ts';
import { readStatusFile, type StatusFile } from '../../status/index.ts';
import { type Command, type CommandIO, parseCommandArgs, UsageError } from '../../cli-kit/index.ts';
import { resolveClientConfig } from '../config-option.ts';
import { errorText, sleep } from '../../util/index.ts';

/** systemd's TimeoutStartSec of our unit (60 s) bounds ExecReload: give up, and say so, before it does. */
const DEFAULT_TIMEOUT_S = 50;
const POLL_MS = 100;

export const command: Command = {
  name: 'reload',
  summary: "Reload the running daemon's config and wait for the outcome (systemd's ExecReload)",
  help: `Usage: auraison-edge reload [--config FILE] [--pid PID] [--timeout S] [--json]

Sends SIGHUP to the daemon that uses the config's data dir and waits until it has applied or rejected the
file, then says which: \`reload applied\` (with the components that restarted, and the keys that wait for
a restart), exit 0; or \`reload REJECTED, the running config stays: <problems>\`, exit 1. The systemd unit
runs it as ExecReload, so \`systemctl reload auraison-edge\` returns once the reload is done, and fails
(the daemon keeps running on its old config) when the file was rejected. A plain \`kill -HUP\` does the
same reload without waiting.

Options:
  --config FILE   the daemon's config, to find its data dir (default: $AURAISON_EDGE_CONFIG, else ./.auraison-edge)
  --pid PID       the daemon's pid (systemd passes $MAINPID); default: the pid in <data_dir>/run/status.json,
                  if that daemon still holds the data dir (a killed daemon's pid may be another process's now)
  --timeout S     how long to wait for the outcome (default ${DEFAULT_TIMEOUT_S}; the unit's TimeoutStartSec is 60)
  --json          print the outcome as one JSON object: {pid, outcome: last_reload} (see GET /status)

Exit codes: 0 the reload applied, 1 it was rejected, no daemon runs, or no outcome came in time (the
daemon ignores SIGHUP while it stops, and when it runs the embedded default config), 2 bad usage.
`,
  async run(argv, io) {
    const { values } = parseCommandArgs(argv, {
      config: { type: 'string' },
      pid: { type: 'string' },
      timeout: { type: 'string' },
      json: { type: 'boolean' },
    });
    const pidArg = values.pid === undefined ? undefined : Number(values.pid);
    if (pidArg !== undefined && !(Number.isInteger(pidArg) && pidArg > 0))
      throw new UsageError(`--pid: expected a process id (an integer > 0), got ${JSON.stringify(values.pid)}`);
    const timeoutS = values.timeout === undefined ? DEFAULT_TIMEOUT_S : Number(values.timeout);
    if (!(Number.isFinite(timeoutS) && timeoutS > 0))
      throw new UsageError(`--timeout: expected seconds > 0, got ${JSON.stringify(values.timeout)}`);
    // The file may be invalid (that is what a reload finds out): its data_dir is still used when it is valid.
    let resolved: ReturnType<typeof resolveClientConfig>;
    try {
      resolved = resolveClientConfig(values.config, io.env);
    } catch (error) {
      // Not even its data_dir can be read (a YAML syntax error): the daemon, told anyway, rejects the file too.
      if (pidArg === undefined || !(error instanceof ConfigError)) throw error;
      if (!signal(pidArg, io)) return 1;
      io.stderr(
        `reload REJECTED, the running config stays: ${error.message.replaceAll('\n', '; ')} (sent SIGHUP to pid ${pidArg}, which rejects it too; fix the file and reload again)\n`,
      );
      return 1;
    }
    const { config, warning } = resolved;
    if (warning) io.stderr(warning);
    const dataDir = resolveDataDir(config, io.cwd);

    const before = readStatusFile(dataDir);
    const pid = pidArg ?? (before?.state === 'running' ? before.pid : undefined);
    if (pid === undefined || !alive(pid)) {
      io.stderr(
        `auraison-edge reload: no daemon is running with data dir ${dataDir}${pid !== undefined ? ` (pid ${pid} is gone)` : ''}; nothing was reloaded\n`,
      );
      return 1;
    }
    // A pid from the status file may be another process's by now (pids wrap; a reboot starts them over), and a
    // SIGHUP ends most processes: it goes only to the daemon that holds the data dir.
    const notHolder = pidArg === undefined ? await notTheHolder(dataDir, pid) : undefined;
    if (notHolder !== undefined) {
      io.stderr(`auraison-edge reload: ${notHolder}; nothing was reloaded\n`);
      return 1;
    }
    const ours = before?.state === 'running' && before.pid === pid;
    const baseline = reloadsSoFar(ours ? before : undefined);
    if (!signal(pid, io)) return 1;
    if (!ours) {
      // A data_dir the file changes takes effect only at the daemon's restart: its outcome is in the old dir.
      io.stderr(
        `auraison-edge reload: sent SIGHUP to pid ${pid}, but ${dataDir}/run/status.json is not that daemon's, so its outcome can't be read here (did the file change data_dir? that takes effect when the daemon restarts). See its log, or \`auraison-edge status\` with its old config\n`,
      );
      return 0;
    }

    const outcome = await reloadOutcome(dataDir, pid, baseline, timeoutS, io);
    return outcome === undefined ? 1 : report(outcome, pid, Boolean(values.json), io);
  },
};

/**
 * Waits for the daemon's status file to say how its reload went; undefined (said) when the daemon ended,
 * stopped instead, or said nothing within `timeoutS`.
 */
async function reloadOutcome(
  dataDir: string,
  pid: number,
  baseline: number,
  timeoutS: number,
  io: CommandIO,
): Promise<NonNullable<StatusFile['last_reload']> | undefined> {
  const deadline = performance.now() + timeoutS * 1000;
  for (;;) {
    await sleep(POLL_MS);
    const now = readStatusFile(dataDir);
    if (now?.pid === pid && reloadsSoFar(now) > baseline && now.last_reload) return now.last_reload;
    if (!alive(pid)) {
      io.stderr(`auraison-edge reload: pid ${pid} ended before its reload did (see its log)\n`);
      return undefined;
    }
    if (now?.pid === pid && now.state === 'stopped') {
      io.stderr(
        `auraison-edge reload: the daemon (pid ${pid}) stopped instead: a reload after a stop signal is ignored\n`,
      );
      return undefined;
    }
    if (performance.now() > deadline) {
      io.stderr(
        `auraison-edge reload: sent SIGHUP to pid ${pid}; no outcome within ${timeoutS} s. A reload that restarts components can take longer (its outcome will be in \`auraison-edge status\`); ` +
          'a daemon running the embedded default config (no --config) ignores SIGHUP. See its log\n',
      );
      return undefined;
    }
  }
}

/** Why `pid`, named by the status file in `dataDir`, is not the daemon that holds it; undefined when it is. */
async function notTheHolder(dataDir: string, pid: number): Promise<string | undefined> {
  const held = await dataDirHeld(dataDir);
  const owner = readOwner(dataDir);
  if (held === false)
    return `no daemon is running with data dir ${dataDir}: its status file names pid ${pid}, but nothing holds the data dir (that daemon ended without stopping, and pid ${pid} is another process now)`;
  if (owner !== undefined && owner.pid !== pid)
    return `the daemon that holds data dir ${dataDir} is pid ${owner.pid}, and its status file still names pid ${pid} (is it starting? try again once \`auraison-edge status\` shows it running)`;
  return undefined;
}

/** Sends the SIGHUP; false (said) when this user may not signal it. */
function signal(target: number, io: CommandIO): boolean {
  try {
    process.kill(target, 'SIGHUP');
    return true;
  } catch (error) {
    io.stderr(
      `auraison-edge reload: cannot signal pid ${target}: ${errorText(error)} (run it as the daemon's user, or with sudo)\n`,
    );
    return false;
  }
}

/** Says how the reload went (applied, and what restarted; or rejected, and why); its exit code. */
function report(
  outcome: NonNullable<StatusFile['last_reload']>,
  daemonPid: number,
  json: boolean,
  io: CommandIO,
): number {
  if (json) io.stdout(`${JSON.stringify({ pid: daemonPid, outcome })}\n`);
  else if (outcome.ok) {
    const restarted =
      outcome.restarted.length > 0 ? `restarted: ${outcome.restarted.join(', ')}` : 'no component restarted';
    const pending =
      outcome.pending_restart.length > 0
        ? `; waiting for a restart of the daemon: ${outcome.pending_restart.join(', ')}`
        : '';
    io.stdout(`reload applied (${outcome.file ?? 'config'}): ${restarted}${pending}\n`);
  } else {
    io.stderr(
      `reload REJECTED, the running config stays: ${(outcome.error ?? 'unknown error').replaceAll('\n', '; ')}${outcome.hint ? ` (${outcome.hint})` : ''}\n`,
    );
  }
  return outcome.ok ? 0 : 1;
}

/** Reloads the daemon has ended since it started (applied and rejected), as its status file last said. */
function reloadsSoFar(status: StatusFile | undefined): number {
  const totals = status?.last_reload?.totals;
  return totals ? totals.applied + totals.rejected : 0;
}
