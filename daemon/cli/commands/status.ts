import { resolveDataDir } from '../../config/load.ts';
import { readStatusFile, type StatusFile } from '../../status/status-file.ts';
import { parseCommandArgs } from '../args.ts';
import type { Command } from '../command.ts';
import { resolveConfig } from '../config-option.ts';

/** A status file not rewritten for this long belongs to a daemon that is gone (it rewrites every second). */
const STALE_MS = 5000;

export const command: Command = {
  name: 'status',
  summary: 'Show the running daemon\'s status: components, topics, drops',
  help: `Usage: auraison-edge status [--config FILE] [--json]

Shows the status of the daemon that uses the config's data dir: its components and their health, and per
topic the message count, rate and drops. It reads the status file the daemon rewrites every second
(<data_dir>/run/status.json).

Options:
  --config FILE   the daemon's config, to find its data dir (default: $AURAISON_EDGE_CONFIG, else ./.auraison-edge)
  --json          print one JSON object

Exit codes: 0 the daemon is running, 1 it is not running (or its status is stale), 2 bad usage.
`,
  async run(argv, io) {
    const { values } = parseCommandArgs(argv, { config: { type: 'string' }, json: { type: 'boolean' } });
    const { config } = resolveConfig(values.config, io.env);
    const dataDir = resolveDataDir(config, io.cwd);
    const status = readStatusFile(dataDir);
    const ageMs = status ? Date.now() - Date.parse(status.written_at) : Infinity;
    const running = status !== undefined && status.state === 'running' && ageMs < STALE_MS;
    if (values.json) {
      io.stdout(`${JSON.stringify({ running, data_dir: dataDir, status: status ?? null })}\n`);
      return running ? 0 : 1;
    }
    if (!status) {
      io.stdout(`not running: no daemon has written a status in ${dataDir}\n`);
      return 1;
    }
    if (!running) {
      const why = status.state === 'stopped' ? `stopped at ${status.written_at}` : `no update since ${status.written_at} (the process is gone or hung)`;
      io.stdout(`not running: ${why}\n`);
      return 1;
    }
    io.stdout(formatStatus(status));
    return 0;
  },
};

function formatStatus(s: StatusFile): string {
  const lines = [`robot ${s.robot.id} (fleet ${s.robot.fleet}), pid ${s.pid}, up ${s.uptime_s.toFixed(0)} s`, `config ${s.config_file ?? '<default>'}, data ${s.data_dir}`, '', 'components:'];
  for (const [name, h] of Object.entries(s.components)) lines.push(`  ${name.padEnd(16)} ${h.state}${h.reason ? `: ${h.reason}` : ''}`);
  lines.push('', 'topics:', `  ${'topic'.padEnd(24)} ${'type'.padEnd(32)} ${'count'.padStart(9)} ${'rate Hz'.padStart(8)} ${'drops'.padStart(7)}`);
  for (const t of s.topics) lines.push(`  ${t.topic.padEnd(24)} ${t.type.padEnd(32)} ${String(t.count).padStart(9)} ${t.rate_hz.toFixed(1).padStart(8)} ${String(t.drops).padStart(7)}`);
  return `${lines.join('\n')}\n`;
}
