import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { resolveDataDir } from '../../config/index.ts';
import type { RunState, RunStatus } from '../../contract/index.ts';
import { type Command, numberOption, parseCommandArgs, UsageError } from '../../cli-kit/index.ts';
import { resolveClientConfig } from '../config-option.ts';
import { clipText, printable, shortIds, errorText } from '../../util/index.ts';

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
the daemon running or stopped. An ID's short form is its shortest prefix of at least 13 characters (the
time it was made, to the ms) that no other run shares; any unique prefix works.

  list   runs, newest first, under a header: ID (its short form, which every command and the API take),
         STATUS, INTENT (the plan, from the API), REASON (cut at 80 characters). From the journal, records
         it could not use are said on stderr, and the list goes on (exit 0): records that do not match the runtime
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
      {
        config: { type: 'string' },
        json: { type: 'boolean' },
        status: { type: 'string' },
        limit: { type: 'string' },
        url: { type: 'string' },
        token: { type: 'string' },
      },
      { max: 3, names: 'list | show ID | diff A B' },
    );
    const [sub = 'list', ...ids] = positionals;
    const want = { list: 0, show: 1, diff: 2 }[sub];
    if (want === undefined) throw new UsageError(`unknown subcommand ${JSON.stringify(sub)} (list, show, diff)`);
    if (ids.length !== want)
      throw new UsageError(`runs ${sub} takes ${want === 0 ? 'no run id' : want === 1 ? 'one run id' : 'two run ids'}`);
    if (values.status !== undefined && !STATUSES.includes(values.status))
      throw new UsageError(`--status: expected one of ${STATUSES.join(', ')}, got ${JSON.stringify(values.status)}`);
    const limit = numberOption('limit', values.limit, { min: 1, integer: true }) ?? 50;
    const { config, warning } = resolveClientConfig(values.config, io.env);
    if (warning) io.stderr(warning);
    const dataDir = resolveDataDir(config, io.cwd);
    const dir = join(dataDir, 'log');
    // What a model or a tool said reaches the operator's terminal: its control characters (ESC sequences that
    // clear the screen or write the clipboard, a \r that hides what came before) are shown as escapes.
    const out = (value: unknown, text: string) =>
      io.stdout(
        values.json
          ? `${JSON.stringify(value)}\n`
          : text
              .split('\n')
              .map((l) => printable(l))
              .join('\n'),
      );
    if (sub === 'list') {
      const { ApiClient, resolveApiTarget } = await import('../../api/index.ts');
      const target = resolveApiTarget({ config, dataDir, env: io.env, url: values.url, token: values.token });
      // Only this data dir's daemon (its api.json) or an explicit --url: a configured port may be another's.
      if (target && (values.url || target.from.endsWith('run/api.json'))) {
        try {
          const query = new URLSearchParams({ limit: String(limit) });
          if (values.status) query.set('status', values.status);
          const { runs } = await new ApiClient(target, { timeoutMs: 2000 }).get<{ runs: RunState[] }>(`/runs?${query}`);
          out(
            { source: 'api', runs },
            runs.length
              ? runsTable(
                  runs,
                  runs.map((r) => r.tree_ref),
                  runs,
                )
              : 'no runs\n',
          );
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
        const intents = runs.map((r) => {
          const intent = store.get(r.run_id)!.intent;
          return intent.type === 'natural_language' ? JSON.stringify(intent.params.text) : intent.type;
        });
        // A record the list could not use is said, never dropped unsaid: a run whose intent was lost is missing from
        // the list.
        const skipped = [...store.warnings];
        if (!values.json && skipped.length > 0) io.stderr(skippedText(skipped));
        const table = runsTable(
          runs,
          intents,
          [...store.all()].map((r) => r.run),
        );
        out({ source: 'journal', runs, skipped, unreadable: notes }, runs.length ? table : `no runs in ${dir}\n`);
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
      io.stderr(`auraison-edge runs: ${errorText(error)}\n`);
      return 1;
    }
  },
};

const SKIPPED_SHOWN = 10;

/** What `runs` says on stderr of the journal records it skipped: how many, and why (the first ten; --json has all). */
function skippedText(skipped: readonly string[]): string {
  const shown = skipped.slice(0, SKIPPED_SHOWN).map((w) => `  ${w}\n`);
  const more =
    skipped.length > SKIPPED_SHOWN ? `  and ${skipped.length - SKIPPED_SHOWN} more (--json lists them all)\n` : '';
  return `auraison-edge runs: ${skipped.length} journal record(s) skipped, each for the reason below; the list goes on without them (\`auraison-edge runs show ID\` replays a run with its odd records):\n${shown.join('')}${more}`;
}

/**
 * The list as a table with a header: each id in its short form (unique among `known`, the runs the list
 * comes from), the status, the intent (or plan) and the reason, each cut at its width.
 */
function runsTable(runs: readonly RunState[], intents: readonly string[], known: readonly RunState[]): string {
  const short = shortIds(known.map((r) => r.run_id).concat(runs.map((r) => r.run_id)));
  const rows = runs.map((r, i) => [
    short.get(r.run_id)!,
    r.status,
    clipText(intents[i]!, 48),
    clipText(r.reason ?? '', 80),
  ]);
  const header = ['ID', 'STATUS', 'INTENT', 'REASON'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => (c < cells.length - 1 ? cell.padEnd(widths[c]!) : cell))
      .join('  ')
      .trimEnd();
  return `${[header, ...rows].map(line).join('\n')}\n`;
}
