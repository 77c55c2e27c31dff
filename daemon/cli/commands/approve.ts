import type { RunState } from '../../contract/index.ts';
import { parseCommandArgs } from '../args.ts';
import { UsageError, type Command } from '../command.ts';
import { daemonApi } from '../api-command.ts';

export const command: Command = {
  name: 'approve',
  summary: 'Approve (or cancel) an agent run that waits for approval',
  help: `Usage: auraison-edge approve RUN_ID [--by NAME] [options]
       auraison-edge approve RUN_ID --cancel [--reason TEXT] [options]

Approves the call a run waits on (POST /runs/ID/approve): the run goes on exactly where it paused, even
across a daemon restart. With --cancel, the run ends instead (POST /runs/ID/cancel). RUN_ID may be a
unique prefix of a run among the daemon's latest 1000 (as \`runs list\` shows them).

Options:
  --by NAME       who approves (default: $USER)
  --cancel        cancel the run instead of approving it
  --reason TEXT   with --cancel: why
  --url URL       the API (default: <data_dir>/run/api.json, else config api.host/api.port)
  --token TOKEN   bearer token (default: $AURAISON_EDGE_API_TOKEN, else config api.token)
  --config FILE   the daemon's config (default: $AURAISON_EDGE_CONFIG, else the embedded default)
  --json          print JSON

Exit codes: 0 done, 1 no such run, nothing to approve, or no daemon, 2 bad usage.
`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(
      argv,
      { by: { type: 'string' }, cancel: { type: 'boolean' }, reason: { type: 'string' }, url: { type: 'string' }, token: { type: 'string' }, config: { type: 'string' }, json: { type: 'boolean' } },
      { min: 1, max: 1, names: 'RUN_ID' },
    );
    const shortId = positionals[0]!;
    // An approval carries no reason: dropped without a word, the approver would think it was recorded.
    if (values.reason !== undefined && !values.cancel) throw new UsageError('--reason is for --cancel: an approval records only who gave it (--by)');
    const by = values.by ?? io.env.USER ?? 'cli';
    const api = await daemonApi('approve', values, io);
    if (!api) return 1;
    const { client } = api;
    try {
      const runId = await fullRunId(client, shortId);
      const path = `/runs/${encodeURIComponent(runId)}/${values.cancel ? 'cancel' : 'approve'}`;
      const { run } = await client.post<{ run: RunState }>(path, values.cancel ? { by, ...(values.reason ? { reason: values.reason } : {}) } : { by });
      io.stdout(values.json ? `${JSON.stringify({ run })}\n` : `run ${run.run_id}: ${run.status}${run.reason ? ` (${run.reason})` : ''}\n`);
      return 0;
    } catch (error) {
      api.report(error);
      return 1;
    }
  },
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The run a prefix names, among the daemon's latest runs; a whole id goes as it is. */
async function fullRunId(client: import('../../api/index.ts').ApiClient, id: string): Promise<string> {
  if (UUID.test(id)) return id;
  const { ApiClientError } = await import('../../api/index.ts');
  const { runs } = await client.get<{ runs: RunState[] }>('/runs?limit=1000');
  const matches = runs.filter((r) => r.run_id.startsWith(id.toLowerCase()));
  if (matches.length === 1) return matches[0]!.run_id;
  if (matches.length === 0) throw new ApiClientError(404, 'not_found', `no run whose id starts with ${id} among the daemon's latest ${runs.length}`);
  throw new ApiClientError(409, 'ambiguous', `${matches.length} runs start with ${id}: ${matches.slice(0, 5).map((r) => `${r.run_id} (${r.status})`).join(', ')}${matches.length > 5 ? ', ...' : ''}; give more of the id`);
}
