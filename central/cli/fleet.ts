import {
  type CommandIO,
  CsvPrinter,
  JsonPrinter,
  Output,
  parseCommandArgs,
  TablePrinter,
  UsageError,
} from 'auraison-edge/cli-kit';
import { FleetApiClient, FleetApiError, resolveFleetApi } from './fleet-api.ts';

/** The fleet API's options every operator command over HTTP takes. */
const API_OPTIONS = { url: { type: 'string' }, config: { type: 'string' } } as const;

/** A robot as GET /api/robots gives it (central/fleet-view.ts). */
interface RobotView {
  fleet: string;
  robot: string;
  online: boolean;
  state?: string;
  reason?: string;
  last_heartbeat?: string;
  backlog?: number;
  sync?: Record<string, unknown>;
  refused?: { total: number; last_at?: string | null };
  authority?: string;
  sender?: 'proven' | 'unproven';
  status_url?: string;
}

/** Whether the broker proves who sent the reports (central/sender-proof.ts). */
interface Senders {
  proven: boolean;
  checked_at?: string;
  detail: string;
}

type Uploads = Record<string, number>;

/** `central query "SQL" [--json | --csv]`: one read-only statement over the fleet lakehouse, through central serve. */
export async function centralQuery(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    { ...API_OPTIONS, json: { type: 'boolean' }, csv: { type: 'boolean' } },
    { min: 1, max: 1, names: 'SQL' },
  );
  if (values.json && values.csv) throw new UsageError('--json and --csv exclude each other');
  const client = new FleetApiClient(await resolveFleetApi(values, io.env));
  let result: { columns: string[]; rows: unknown[][]; elapsed_ms?: number; truncated?: boolean; truncated_by?: string };
  try {
    result = await client.post('/api/query', { sql: positionals[0] });
  } catch (error) {
    return failed(io, 'query', error);
  }
  const out = new Output(io.stdout);
  const printer = values.json ? new JsonPrinter(out) : values.csv ? new CsvPrinter(out) : new TablePrinter(out);
  printer.start(result.columns.map((name) => ({ name, type: '' })));
  for (const row of result.rows) printer.row(row);
  printer.end({ rows: result.rows.length, truncated: false }, result.rows.length);
  out.flush();
  if (result.truncated)
    io.stderr(
      `auraison-edge central query: the answer stops after ${result.rows.length} rows, at central serve's fleet_query.${result.truncated_by ?? 'max_rows'}, and holds more: narrow it down (WHERE, LIMIT, GROUP BY)\n`,
    );
  return 0;
}

/**
 * `central robots [--json]`: each robot's state, last heartbeat, backlog, the commands its link refused, and sync;
 * the uploads central handled; whether the broker proves who sent the reports.
 */
export async function centralRobots(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseCommandArgs(argv, { ...API_OPTIONS, json: { type: 'boolean' } });
  const client = new FleetApiClient(await resolveFleetApi(values, io.env));
  let robots: RobotView[];
  let senders: Senders | undefined;
  let uploads: Uploads;
  try {
    [{ robots, senders }, uploads] = await Promise.all([
      client.get<{ robots: RobotView[]; senders?: Senders }>('/api/robots'),
      client.get<Uploads>('/api/uploads'),
    ]);
  } catch (error) {
    return failed(io, 'robots', error);
  }
  if (values.json) {
    io.stdout(`${JSON.stringify({ robots, ...(senders ? { senders } : {}), uploads })}\n`);
    return 0;
  }
  io.stdout(formatRobots(robots, uploads, Date.now(), senders));
  return 0;
}

function failed(io: CommandIO, what: string, error: unknown): number {
  if (!(error instanceof FleetApiError)) throw error;
  io.stderr(`auraison-edge central ${what}: ${error.message}\n`);
  return 1;
}

/** How long ago, in the largest unit that keeps it short. */
function ago(iso: string | undefined, now: number): string {
  if (iso === undefined) return 'never';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.max(0, Math.round((now - t) / 1000));
  return s < 120 ? `${s} s ago` : s < 7200 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
}

function syncWords(sync: Record<string, unknown> | undefined): string {
  if (!sync) return '';
  return Object.entries(sync)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : String(v as string | number)}`)
    .join(', ');
}

/** What the robot's link refused (a robot under attack), and who may command it when that is not central alone. */
function refusedWords(r: RobotView): string {
  const total = r.refused?.total ?? 0;
  const refused = total > 0 ? `${total}${r.refused?.last_at ? ` (last ${r.refused.last_at})` : ''}` : '';
  const authority = r.authority ? `COMMANDS: ${r.authority}` : '';
  return [refused, authority].filter((w) => w !== '').join('; ');
}

/**
 * Whether each robot's reports are its own, as the broker's ACL proves: one line under the table, since it is the
 * broker's answer for every robot at once (each robot's `sender` in --json).
 */
function sendersLine(senders: Senders | undefined, now: number): string[] {
  if (!senders) return [];
  if (senders.proven) return [`reports' senders: proven by the broker's ACL (checked ${ago(senders.checked_at, now)})`];
  return [
    `reports' senders: UNPROVEN for every robot above, a report may not be from the robot it names: ${senders.detail}`,
  ];
}

export function formatRobots(robots: RobotView[], uploads: Uploads, now: number, senders?: Senders): string {
  const header = ['fleet', 'robot', 'state', 'last heartbeat', 'backlog', 'refused', 'sync', 'status page'];
  const rows = robots.map((r) => [
    r.fleet,
    r.robot,
    r.online ? 'online' : `offline${r.reason ? ` (${r.reason})` : ''}`,
    ago(r.last_heartbeat, now),
    r.backlog === undefined ? '' : String(r.backlog),
    refusedWords(r),
    syncWords(r.sync),
    r.status_url ?? '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const online = robots.filter((r) => r.online).length;
  const counts = Object.entries(uploads)
    .map(([k, v]) => `${k.replaceAll('_', ' ')} ${v}`)
    .join(', ');
  return [
    ...(robots.length === 0 ? ['no robot has reported to central yet'] : [line(header), ...rows.map(line)]),
    '',
    `${robots.length} robot(s), ${online} online; uploads: ${counts}`,
    ...sendersLine(senders, now),
    '',
  ].join('\n');
}
