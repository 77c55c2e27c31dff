import type { RunState } from '../../contract/index.ts';
import { type Command, parseCommandArgs, UsageError } from '../../cli-kit/index.ts';
import { daemonApi } from '../api-command.ts';
import { shortId } from '../../util/index.ts';

export const command: Command = {
  name: 'approve',
  summary: 'Approve (or cancel) an agent run that waits for approval',
  help: `Usage: auraison-edge approve RUN_ID [--by NAME] [options]
       auraison-edge approve RUN_ID --cancel [--reason TEXT] [options]

Approves the call a run waits on (POST /runs/ID/approve): the run goes on exactly where it paused, even
across a daemon restart. With --cancel, the run ends instead (POST /runs/ID/cancel). RUN_ID may be a
unique prefix of a run id: the short form \`runs list\`, \`intent\` and the status page show, or fewer characters.

Options:
  --by NAME       who approves (default: $USER)
  --cancel        cancel the run instead of approving it
  --reason TEXT   with --cancel: why
  --url URL       the API (default: <data_dir>/run/api.json, else config api.host/api.port)
  --token TOKEN   bearer token (default: $AURAISON_EDGE_API_TOKEN, else config api.token)
  --config FILE   the daemon's config (default: $AURAISON_EDGE_CONFIG, else the embedded default)
  --json          print JSON

Exit codes: 0 done, 1 no such run, a prefix of several, nothing to approve, or no daemon, 2 bad usage.
`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        by: { type: 'string' },
        cancel: { type: 'boolean' },
        reason: { type: 'string' },
        url: { type: 'string' },
        token: { type: 'string' },
        config: { type: 'string' },
        json: { type: 'boolean' },
      },
      { min: 1, max: 1, names: 'RUN_ID' },
    );
    const id = positionals[0]!;
    if (!/^[0-9a-f-]{1,36}$/i.test(id)) {
      throw new UsageError(
        `RUN_ID: expected a run id or a prefix of one (hex digits, dashes), got ${JSON.stringify(id)}`,
      );
    }
    // An approval carries no reason: dropped without a word, the approver would think it was recorded.
    if (values.reason !== undefined && !values.cancel)
      throw new UsageError('--reason is for --cancel: an approval records only who gave it (--by)');
    const by = values.by ?? io.env.USER ?? 'cli';
    const api = await daemonApi('approve', values, io);
    if (!api) return 1;
    const { client } = api;
    try {
      // The API takes a unique prefix as it takes a whole id, and names the runs a prefix matches.
      const path = `/runs/${encodeURIComponent(id)}/${values.cancel ? 'cancel' : 'approve'}`;
      const body = values.cancel ? { by, ...(values.reason ? { reason: values.reason } : {}) } : { by };
      const { run } = await client.post<{ run: RunState }>(path, body);
      const reason = run.reason ? ` (${run.reason})` : '';
      io.stdout(values.json ? `${JSON.stringify({ run })}\n` : `run ${shortId(run.run_id)}: ${run.status}${reason}\n`);
      return 0;
    } catch (error) {
      api.report(error);
      return 1;
    }
  },
};
