import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { resolveDataDir } from '../../config/index.ts';
import type { RunState, RunStatus } from '../../contract/index.ts';
import { numberOption, parseCommandArgs } from '../args.ts';
import { UsageError, type Command } from '../command.ts';
import { resolveClientConfig } from '../config-option.ts';
import { printable, shortIds } from '../../util/index.ts';

const STATUSES = ['pending', 'running', 'awaiting_approval', 'succeeded', 'failed', 'cancelled', 'interrupted'];

export const command: Command = {
  name: 'runs',
  summary: 'List agent runs, replay one from its events, or compare two',
  help: `Usage: auraison-edge runs [list] [--status S] [--limit N] [--config FILE] [--url URL] [--token TOKEN] [--json]
       auraison-edge runs show ID [--config FILE] [--json]
       auraison-edge runs diff A B [--config FILE] [--json]

list asks the running daemon's API (GET /runs), which knows the live state of each run; with no daemon
running it reads the agent's durable journal (<data_dir>/log) instead. show and diff replay the journal
itself, read-only (every state a run went through, which the API's run view does not keep): they work with
the daemon running or stopped. IDs may be shortened to a unique prefix.

  list   runs, newest first: id, status, intent (or plan), reason. From the journal, records it could not
         use are said on stderr, and the list goes on (exit 0): records that do not match the runtime
         contract, each with why (a run whose intent.accepted event is lost is left out of the list), and
         damaged or torn bytes of a segment. --json: {source, runs, skipped: [why, ...], unreadable: [note, ...]}
  show   replays one run from its events: every state it went through, the model's messages, tool calls
         and results, policy decisions, approvals and validator scores, with times since the run began
  diff   two runs side by side: intent, outcome, duration, tool calls, tokens, policy decisions, validator
         scores, then their tool calls in order (* marks a difference)

Options:
  --status S      list only runs with this status (${STATUSES.join(', ')})
  --limit N       list at most N runs (default 50)
  --config FILE   the daemon's config, for its data dir (default: $AURAISON_EDGE_CONFIG, else ./.auraison-edge)
  --url URL       list: the API (default: the one the daemon of this data dir wrote to <data_dir>/run/api.json)
  --token TOKEN   list: bearer token (default: $AURAISON_EDGE_API_TOKEN, else config api.token)
  --json          print JSON

Exit codes: 0 ok, 1 no such run or no journal, 2 bad usage.
`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(
      argv,
      { config: { type: 'string' }, json: { type: 'boolean' }, status: { type: 'string' }, limit: { type: 'string' }, url: { type: 'string' }, token: { type: 'string' } },
      { max: 3, names: 'list | show ID | diff A B' },
    );
    const [sub = 'list', ...ids] = positionals;
    const want = { list: 0, show: 1, diff: 2 }[sub];
    if (want === undefined) throw new UsageError(`unknown subcommand ${JSON.stringify(sub)} (list, show, diff)`);
    if (ids.length !== want) throw new UsageError(`runs ${sub} takes ${want === 0 ? 'no run id' : want === 1 ? 'one run id' : 'two run ids'}`);
    if (values.status !== undefined && !STATUSES.includes(values.status)) throw new UsageError(`--status: expected one of ${STATUSES.join(', ')}, got ${JSON.stringify(values.status)}`);
    const limit = numberOption('limit', values.limit, { min: 1, integer: true }) ?? 50;
    const { config, warning } = resolveClientConfig(values.config, io.env);
    if (warning) io.stderr(warning);
    const dataDir = resolveDataDir(config, io.cwd);
    const dir = join(dataDir, 'log');
    // What a model or a tool said reaches the operator's terminal: its control characters (ESC sequences that
    // clear the screen or write the clipboard, a \r that hides what came before) are shown as escapes.
    const out = (value: unknown, text: string) => io.stdout(values.json ? `${JSON.stringify(value)}\n` : text.split('\n').map(printable).join('\n'));
    if (sub === 'list') {
      const { ApiClient, resolveApiTarget } = await import('../../api/index.ts');
      const target = resolveApiTarget({ config, dataDir, env: io.env, url: values.url, token: values.token });
      // Only this data dir's daemon (its api.json) or an explicit --url: a configured port may be another's.
      if (target && (values.url || target.from.endsWith('run/api.json'))) {
        try {
          const query = new URLSearchParams({ limit: String(limit), ...(values.status ? { status: values.status } : {}) });
          const { runs } = await new ApiClient(target, { timeoutMs: 2000 }).get<{ runs: RunState[] }>(`/runs?${query}`);
          const lines = runs.map((r) => `${r.run_id}  ${r.status.padEnd(17)} ${r.tree_ref}${r.reason ? `  (${shortReason(r.reason)})` : ''}`);
          out({ source: 'api', runs }, runs.length ? `${lines.join('\n')}\n` : 'no runs\n');
          return 0;
        } catch (error) {
          if (values.url) throw error;
          // The daemon is gone or not answering: the journal has the same runs.
        }
      }
    }
    const { readJournalDir, recordsJournal } = await import('../../journal/index.ts');
    const { records, notes } = readJournalDir(dir);
    for (const note of notes) io.stderr(`auraison-edge runs: ${note}\n`);
    // No journal at all (its note said so) is most often a wrong --config: fail, rather than list nothing.
    if (!existsSync(dir)) return 1;
    const replay = await import('../../agent/index.ts');
    try {
      if (sub === 'list') {
        const { RunStore } = await import('../../agent/index.ts');
        const store = new RunStore(recordsJournal(records));
        store.rebuild();
        const runs = store.list({ status: values.status as RunStatus | undefined, limit });
        const lines = runs.map((r) => {
          const intent = store.get(r.run_id)!.intent;
          const what = intent.type === 'natural_language' ? JSON.stringify(intent.params.text) : intent.type;
          return `${r.run_id}  ${r.status.padEnd(17)} ${what}${r.reason ? `  (${shortReason(r.reason)})` : ''}`;
        });
        // A record the list could not use is said, never dropped unsaid: a run whose intent was lost is missing from the list.
        const skipped = [...store.warnings];
        if (!values.json && skipped.length > 0) io.stderr(skippedText(skipped));
        out({ source: 'journal', runs, skipped, unreadable: notes }, runs.length ? `${lines.join('\n')}\n` : `no runs in ${dir}\n`);
        return 0;
      }
      const timelines = ids.map((id) => replay.runTimeline(records, replay.resolveRunId(records, id))!);
      if (sub === 'show') out(timelines[0], replay.formatTimeline(timelines[0]!));
      else {
        const diff = replay.diffRuns(timelines[0]!, timelines[1]!);
        out(diff, replay.formatDiff(diff));
      }
      return 0;
    } catch (error) {
      io.stderr(`auraison-edge runs: ${(error as Error).message}\n`);
      return 1;
    }
  },
};

const SKIPPED_SHOWN = 10;

/** What `runs` says on stderr of the journal records it skipped: how many, and why (the first ten; --json has all). */
function skippedText(skipped: readonly string[]): string {
  const shown = skipped.slice(0, SKIPPED_SHOWN).map((w) => `  ${w}\n`);
  const more = skipped.length > SKIPPED_SHOWN ? `  and ${skipped.length - SKIPPED_SHOWN} more (--json lists them all)\n` : '';
  return `auraison-edge runs: ${skipped.length} journal record(s) skipped, each for the reason below; the list goes on without them (\`auraison-edge runs show ID\` replays a run with its odd records):\n${shown.join('')}${more}`;
}

/** A run's reason as the list shows it: cut at 80 characters, and then marked as cut, so a half sentence is not read as the reason. */
function shortReason(reason: string): string {
  return reason.length > 80 ? `${reason.slice(0, 77)}...` : reason;
}
