import type { Readiness } from '../../api/index.ts';
import { latchText, type HaltLatchState } from '../../contract/index.ts';
import type { DaemonStatus } from '../../lifecycle/index.ts';
import { alive } from '../../lifecycle/index.ts';
import { readStatusFile, STATUS_FILE_PERIOD_MS, statusAgeMs } from '../../status/index.ts';
import { printable, errorText } from '../../util/index.ts';
import { type Command, parseCommandArgs } from '../../cli-kit/index.ts';
import { clientTargetOrOther } from '../daemon-target.ts';
import { loopsTable } from '../loops-table.ts';

/** A status file not rewritten for three periods belongs to a daemon that is gone (or hung). */
const STALE_MS = 3 * STATUS_FILE_PERIOD_MS;

/** The daemon runs but a readiness check fails (as `bag import`'s 3: done, but not all is well). */
const EXIT_NOT_READY = 3;

/** What GET /status answers: the daemon's status with its readiness. */
type ApiStatus = DaemonStatus & { readiness?: Readiness };

export const command: Command = {
  name: 'status',
  summary: "Show the running daemon's status: components, readiness, topics, drops",
  help: `Usage: auraison-edge status [--config FILE] [--json] [--url URL] [--token TOKEN]

Shows the status of the daemon that uses the config's data dir: its components and their health, its
readiness checks, and per topic the message count, rate and drops. It asks the daemon's HTTP API
(GET /status); when the API does not answer (disabled, not yet up, or another daemon's) it reads the status
file the daemon rewrites every 5 s (<data_dir>/run/status.json). A config file that is invalid (so a reload
of it was rejected, and the daemon runs on its old config) still finds the daemon by its data_dir and api
keys when those are valid; its problems are printed as a warning. The daemon it read is named:
\`daemon: <data_dir> (pid N, <source>)\`; one at the config's api.port that is another data dir's is
not shown as this one (see docs/cli.md, which daemon a command reaches).

Options:
  --config FILE   the daemon's config, to find its data dir and API (default: $AURAISON_EDGE_CONFIG, else ./.auraison-edge)
  --url URL       the API (default: <data_dir>/run/api.json, else config api.host/api.port)
  --token TOKEN   bearer token (default: $AURAISON_EDGE_API_TOKEN, else config api.token)
  --json          print one JSON object: {running, source: "api" | "file", data_dir, status}

Exit codes: 0 the daemon is running and ready; 1 it is not running, its status is stale, or the daemon at
the config's port is another data dir's; 2 bad usage; 3 it runs but is NOT READY (a readiness check
failed: the list says which, and what to do).
`,
  async run(argv, io) {
    const { values } = parseCommandArgs(argv, {
      config: { type: 'string' },
      json: { type: 'boolean' },
      url: { type: 'string' },
      token: { type: 'string' },
    });
    const { dataDir, found, other } = await clientTargetOrOther(values, io);
    const target = found?.target;
    let apiNote: string | undefined;
    if (target) {
      try {
        const { ApiClient } = await import('../../api/index.ts');
        const status: ApiStatus =
          found?.status ?? (await new ApiClient(target, { timeoutMs: 2000 }).get<ApiStatus>('/status'));
        if (values.json)
          io.stdout(
            `${JSON.stringify({ running: true, source: 'api', url: target.url, data_dir: status.data_dir, status })}\n`,
          );
        else io.stdout(formatStatus(status, `api ${target.url}`));
        // A script or a health check reads the exit code, not the words: running but not ready is not success.
        return status.readiness?.ready === false ? EXIT_NOT_READY : 0;
      } catch (error) {
        apiNote = errorText(error);
      }
    }
    if (other) apiNote = other.whose;

    const status = readStatusFile(dataDir);
    const ageMs = status ? statusAgeMs(status) : Infinity;
    // A daemon killed with -9 leaves a fresh-looking file for up to STALE_MS: its pid tells at once.
    const gone = status !== undefined && status.state === 'running' && !alive(status.pid);
    const running = status !== undefined && status.state === 'running' && ageMs < STALE_MS && !gone;
    if (values.json) {
      io.stdout(
        `${JSON.stringify({ running, source: status ? 'file' : null, data_dir: dataDir, ...(apiNote ? { api: apiNote } : {}), status: status ?? null })}\n`,
      );
      return running ? 0 : 1;
    }
    if (!status) {
      // A SIGHUP that changed data_dir leaves the daemon on its old dir until a restart.
      const hint = other ? ` (${other.whose}: if data_dir changed, it takes effect when that daemon restarts)` : '';
      io.stdout(`not running: no daemon has written a status in ${dataDir}${hint}\n`);
      if (other) io.stderr(`${other.message}\n`);
      return 1;
    }
    if (!running) {
      const why =
        status.state === 'stopped'
          ? `stopped at ${status.written_at}`
          : gone
            ? `pid ${status.pid} is gone (it ended without stopping: killed or crashed)`
            : `no update since ${status.written_at} (the process is gone or hung)`;
      io.stdout(`not running: ${why}\n`);
      return 1;
    }
    io.stdout(formatStatus(status, `status file (${apiNote ? `API: ${apiNote}` : 'no API configured'})`));
    return 0;
  },
};

/**
 * Where the arm's measurement and limits come from (motion.joints), and why either is none now: said near the top, as
 * it is why an arm's commands and the stop's hold are refused. Nothing for a robot with no joints measured or limited.
 */
function robotInputLines(inputs: ApiStatus['robot_inputs']): string[] {
  if (!inputs) return [];
  const { state, limits } = inputs;
  if (limits.from === null && state.age_ms === null && state.ambiguous === null) return [];
  const age = (ms: number | null) => (ms === null ? 'none yet' : `${(ms / 1000).toFixed(1)} s old`);
  const lines = [
    `joint states: ${state.topic}${state.publishers.length > 0 ? ` from ${state.publishers.join(', ')}` : ''}, ${age(state.age_ms)}${state.foreign > 0 ? `, ${state.foreign} from client doors ignored` : ''}`,
  ];
  if (state.ambiguous) lines.push(`  NO MEASUREMENT: ${printable(state.ambiguous)}`);
  if (limits.from !== null)
    lines.push(
      `joint limits: ${limits.from}${limits.missing ? `: NONE (${printable(limits.missing)})` : `, set ${age(limits.age_ms)}`}`,
    );
  return lines;
}

export function formatStatus(s: ApiStatus, source: string): string {
  // Columns as wide as their longest entry, so a long topic or type name does not push the rest out of line.
  const width = (values: string[], min: number) => Math.max(min, ...values.map((v) => v.length));
  const lines = [
    `robot ${s.robot.id} (fleet ${s.robot.fleet}), pid ${s.pid}, up ${s.uptime_s.toFixed(0)} s`,
    `config ${s.config_file ?? '<default>'}, data ${s.data_dir}`,
    `daemon: ${s.data_dir} (pid ${s.pid}, ${source})`,
  ];
  const reload = s.last_reload; // absent from an older daemon's status
  if (reload) {
    const pending =
      reload.pending_restart.length > 0 ? `; waiting for a restart: ${reload.pending_restart.join(', ')}` : '';
    lines.push(
      reload.ok
        ? `last reload ${reload.at}: applied${reload.restarted.length > 0 ? `, restarted ${reload.restarted.join(', ')}` : ''}${pending}`
        : `last reload ${reload.at}: REJECTED, the running config stays: ${(reload.error ?? 'unknown error').replaceAll('\n', '; ')}${reload.hint ? ` (${reload.hint})` : ''}`,
    );
  }
  const remote = s.central_config; // absent from an older daemon's status
  if (remote)
    lines.push(
      `central config ${remote.config_id} (received ${remote.received_at}): ${remote.in_force ? 'in force over the config file' : `SET ASIDE, the config file runs alone: ${remote.set_aside}`}`,
    );
  // A latched stop (motion.stop.latch) is why a robot does not move: said before anything else is read.
  // The stop component shows it with or without an agent; a daemon from before it, through the agent.
  const latch = (s.components.stop?.details?.stop_latch ?? s.components.agent?.details?.stop_latch) as
    Partial<HaltLatchState> | null | undefined;
  // `by` and `reason` are whatever the stop's sender wrote: a newline in them must not forge a line. The stops that
  // came while latched are listed after the first, which stays the latch's (its release names it).
  if (latch?.since)
    lines.push(
      `ROBOT STOPPED: latched by ${latchText({ by: 'unknown', reason: null, ...latch, since: latch.since }, printable)}; nothing moves it until \`auraison-edge stop --release\``,
    );
  lines.push(...robotInputLines(s.robot_inputs));
  if (s.readiness) {
    const cw = width(
      s.readiness.checks.map((c) => c.name),
      24,
    );
    lines.push('', `readiness: ${s.readiness.ready ? 'ready' : 'NOT READY'}`);
    for (const c of s.readiness.checks)
      lines.push(
        `  ${c.name.padEnd(cw)} ${c.status.padEnd(5)} ${c.reason}${c.informational ? ' (informational)' : ''}`,
      );
  }
  const nw = width(Object.keys(s.components), 16);
  lines.push('', 'components:');
  // Where a server listens (api, foxglove): with port 0 it is picked at start, and this is where to look.
  const at = (h: { details?: Record<string, unknown> }) =>
    typeof h.details?.url === 'string' ? ` at ${h.details.url}` : '';
  for (const [name, h] of Object.entries(s.components))
    lines.push(`  ${name.padEnd(nw)} ${h.state}${at(h)}${h.reason ? `: ${h.reason}` : ''}`);
  lines.push(...loopsTable(s.components.control));
  const tw = width(
    s.topics.map((t) => t.topic),
    24,
  );
  const yw = width(
    s.topics.map((t) => t.type),
    32,
  );
  lines.push(
    '',
    'topics:',
    `  ${'topic'.padEnd(tw)} ${'type'.padEnd(yw)} ${'count'.padStart(9)} ${'rate Hz'.padStart(8)} ${'drops'.padStart(7)}`,
  );
  for (const t of s.topics)
    lines.push(
      `  ${t.topic.padEnd(tw)} ${t.type.padEnd(yw)} ${String(t.count).padStart(9)} ${t.rate_hz.toFixed(1).padStart(8)} ${String(t.drops).padStart(7)}`,
    );
  return `${lines.join('\n')}\n`;
}
