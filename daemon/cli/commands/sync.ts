import { formatBytes } from '../../util/index.ts';
import { type Command, parseCommandArgs, UsageError } from '../../cli-kit/index.ts';
import { API_CLIENT_OPTIONS, daemonApi } from '../api-command.ts';

/** GET /sync's reply, as far as this command reads it. */
interface SyncReply {
  enabled: boolean;
  reason?: string;
  online?: boolean;
  paused?: { by: string; reason: string; since?: string } | null;
  awaiting?: { files: number; bytes: number };
  states?: Record<string, { files: number; bytes: number }>;
  unreported_lost?: number;
  current?: { path: string; size: number; sent: number; bytes_per_s: number; eta_s: number | null } | null;
  last_error?: string | null;
  last_error_at?: string | null;
  degraded?: string | null;
  uploads?: { done: number; failed: number; bytes_sent: number };
  budget?: { bytes_per_s: number; bulk_paused?: string };
}

export const command: Command = {
  name: 'sync',
  summary: 'Bulk sync to central: what awaits upload, the upload under way, the budget; pause or resume uploads',
  help: `Usage: auraison-edge sync status [options]
       auraison-edge sync pause [--reason TEXT] [options]
       auraison-edge sync resume [--central] [options]

Bulk sync (docs/sync.md) offers the robot's sealed bag splits and lakehouse parquet files to central and
uploads them to the URLs central grants. \`sync status\` says how many files and bytes await sync, the
upload under way with its rate and ETA, the last error, the upload budget and whether uploads are paused
(here, by central, or outside central.upload_windows). \`sync pause\` holds bulk uploads until \`sync resume\`
(events, heartbeats and acks still go up); a pause lasts until resume, across restarts of the daemon.
\`sync resume\` lifts the robot's own pause; a pause central sent holds until central resumes, or until
\`sync resume --central\` lifts it here (central's next pause holds again).
It asks the running daemon's API (GET /sync, POST /sync/pause, /sync/resume).

Options:
  --reason TEXT   (pause) why, shown in sync status
  --central       (resume) lift central's pause too, not only the robot's
  --url URL       the API (default: <data_dir>/run/api.json, else config api.host/api.port)
  --token TOKEN   bearer token (default: $AURAISON_EDGE_API_TOKEN, else config api.token)
  --config FILE   the daemon's config (default: $AURAISON_EDGE_CONFIG, else the embedded default)
  --json          print GET /sync's reply as JSON

Exit codes: 0 done, 1 no daemon answered or bulk sync is not running (pause, resume), 2 bad usage.
`,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub !== 'status' && sub !== 'pause' && sub !== 'resume')
      throw new UsageError(
        `expected status, pause or resume, got ${sub === undefined ? 'nothing' : JSON.stringify(sub)}`,
      );
    const { values } = parseCommandArgs(rest, {
      ...API_CLIENT_OPTIONS,
      ...(sub === 'pause' ? { reason: { type: 'string' as const } } : {}),
      ...(sub === 'resume' ? { central: { type: 'boolean' as const } } : {}),
    });
    const api = await daemonApi(`sync ${sub}`, values, io);
    if (!api) return 1;
    // Only the options this subcommand takes were parsed: `reason` for pause, `central` for resume.
    const body = {
      ...('reason' in values && values.reason ? { reason: values.reason } : {}),
      ...('central' in values && values.central ? { central: true } : {}),
    };
    let reply: SyncReply;
    try {
      reply =
        sub === 'status'
          ? await api.client.get<SyncReply>('/sync')
          : await api.client.post<SyncReply>(`/sync/${sub}`, body);
    } catch (error) {
      api.report(error);
      return 1;
    }
    if (values.json) io.stdout(`${JSON.stringify(reply)}\n`);
    else io.stdout(statusText(reply, sub));
    return 0;
  },
};

function statusText(s: SyncReply, sub: string): string {
  if (!s.enabled) return `bulk sync: not running (${s.reason ?? 'unknown'})\n`;
  const lines: string[] = [];
  if (sub === 'pause') lines.push('bulk uploads paused');
  // A resume here lifts the robot's pause; central's holds until central (or `--central`) lifts it.
  else if (sub === 'resume' && s.paused?.by === 'central')
    lines.push("bulk uploads are still paused by central; `sync resume --central` lifts central's pause here");
  else if (sub === 'resume') lines.push('bulk uploads resumed');
  const since = s.paused?.since ? ` since ${s.paused.since}` : '';
  const paused = s.paused ? `paused (${s.paused.by}: ${s.paused.reason})${since}` : 'running';
  lines.push(`bulk sync: ${paused}, ${s.online ? 'online' : 'offline (nothing is lost: it goes on when back)'}`);
  lines.push(`awaiting: ${s.awaiting?.files ?? 0} file(s), ${formatBytes(s.awaiting?.bytes ?? 0)}`);
  const c = s.current;
  if (c) {
    const pct = c.size > 0 ? Math.floor((100 * c.sent) / c.size) : 100;
    const eta = c.eta_s === null ? '?' : `${c.eta_s} s`;
    lines.push(
      `uploading: ${c.path} ${formatBytes(c.sent)} of ${formatBytes(c.size)} (${pct}%) at ${formatBytes(c.bytes_per_s)}/s, ETA ${eta}`,
    );
  } else lines.push('uploading: nothing now');
  const states = Object.entries(s.states ?? {})
    .map(([state, n]) => `${state} ${n.files}`)
    .join(', ');
  if (states) lines.push(`files by state: ${states}`);
  if (s.unreported_lost) lines.push(`lost, central not told yet: ${s.unreported_lost}`);
  if (s.uploads)
    lines.push(
      `since start: ${s.uploads.done} stored, ${s.uploads.failed} failed, ${formatBytes(s.uploads.bytes_sent)} sent`,
    );
  const rate = s.budget?.bytes_per_s ?? 0;
  lines.push(`budget: ${rate === 0 ? 'unlimited' : `${formatBytes(rate)}/s`}`);
  if (s.last_error) lines.push(`last error${s.last_error_at ? ` (${s.last_error_at})` : ''}: ${s.last_error}`);
  if (s.degraded) lines.push(`degraded: ${s.degraded}`);
  return `${lines.join('\n')}\n`;
}
