import type { RunState } from '../../contract/index.ts';
import { type Command, MAX_TIMEOUT_OPTION_S, numberOption, parseCommandArgs, UsageError } from '../../cli-kit/index.ts';
import { daemonApi } from '../api-command.ts';
import { RunFollow } from '../run-follow.ts';
import type { ApiClient } from '../../api/index.ts';
import type { DaemonStatus } from '../../lifecycle/index.ts';
import { printable, shortId, errorText } from '../../util/index.ts';

export const command: Command = {
  name: 'intent',
  summary: "Submit an intent to the running daemon's agent (over its HTTP API)",
  help: `Usage: auraison-edge intent SKILL [--params JSON] [options]
       auraison-edge intent --text "go to the charging dock" [options]

Submits an intent with POST /intents to the daemon that uses this config's data dir, and prints the run
(its id in the short form \`runs list\`, \`approve\` and the status page use).
A skill intent (navigate_to, run_policy, start_loop, read_topic, publish, call_service, call_action, stop) runs
with no model; a natural-language one (--text) is planned by System 2.

Options:
  --params JSON       the skill's arguments, e.g. '{"x": 1.5, "y": 2}'
  --text TEXT         a natural-language intent
  --validators JSON   checks of the outcome, e.g. '[{"type":"goal_reached","tolerance_m":0.2}]'
  --approval          every acting call waits for approval (policy_ctx.requires_approval); stop and
                      read_topic are exempt (they only take motion away or read) unless listed in
                      agent.require_approval
  --actor NAME        who asks (default: $USER)
  --wait              print the run's events as they happen (time since the run began, kind, what it
                      says, as \`runs show\` does), until it ends or waits for approval; then its state
  --timeout-s N       with --wait: give up after N seconds (default 300)
  --url URL           the API (default: <data_dir>/run/api.json, else config api.host/api.port)
  --token TOKEN       bearer token (default: $AURAISON_EDGE_API_TOKEN, else config api.token)
  --config FILE       the daemon's config (default: $AURAISON_EDGE_CONFIG, else the embedded default)
  --json              print JSON: {run}; with --wait, JSON lines first, one per event ({t_s, event}) and
                      state change ({t_s, state}), then {run}

While the robot's stop is latched (\`auraison-edge stop\`), intent waits as with --wait and says so: a run
that would move is refused, and intent exits 1 with the refusal, not 0 with a pending run.

Exit codes: 0 accepted (with --wait, or while the stop is latched: succeeded or awaiting approval), 1 refused,
failed or no daemon, 2 bad usage.
`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        params: { type: 'string' },
        text: { type: 'string' },
        validators: { type: 'string' },
        approval: { type: 'boolean' },
        actor: { type: 'string' },
        wait: { type: 'boolean' },
        'timeout-s': { type: 'string' },
        url: { type: 'string' },
        token: { type: 'string' },
        config: { type: 'string' },
        json: { type: 'boolean' },
      },
      { max: 1, names: 'SKILL' },
    );
    const skill = positionals[0];
    if ((skill === undefined) === (values.text === undefined)) throw new UsageError('give either a SKILL or --text');
    if (values.text !== undefined && values.params !== undefined)
      throw new UsageError('--params is for skill intents; a --text intent has none');
    const parseJson = (name: string, text: string | undefined): unknown => {
      if (text === undefined) return undefined;
      try {
        return JSON.parse(text);
      } catch (error) {
        throw new UsageError(`--${name}: not JSON (${errorText(error)})`);
      }
    };
    const params = (parseJson('params', values.params) ?? {}) as Record<string, unknown>;
    if (params === null || typeof params !== 'object' || Array.isArray(params))
      throw new UsageError('--params: expected a JSON object');
    const validators = parseJson('validators', values.validators);
    if (values.text !== undefined) params.text = values.text;
    if (validators !== undefined) params.validators = validators;
    if (values['timeout-s'] !== undefined && !values.wait)
      throw new UsageError('--timeout-s is for --wait: without it, intent returns as soon as the run is accepted');
    const timeoutS =
      numberOption('timeout-s', values['timeout-s'], { min: 0, exclusiveMin: true, max: MAX_TIMEOUT_OPTION_S }) ?? 300;
    const api = await daemonApi('intent', values, io);
    if (!api) return 1;
    const { client } = api;
    const body = {
      type: skill ?? 'natural_language',
      params,
      policy_ctx: {
        actor: values.actor ?? io.env.USER ?? 'cli',
        source: 'cli',
        ...(values.approval ? { requires_approval: true } : {}),
      },
    };
    try {
      const submit = async () => (await client.post<{ run: RunState }>('/intents', body)).run;
      let run: RunState;
      // While the operator's stop is latched the run is taken, then refused when it would move: waiting
      // for it is the only way to say so, rather than `pending` and exit 0 for a run that will fail.
      const latched = values.wait ? undefined : await stopLatch(client);
      if (latched)
        io.stderr(
          `auraison-edge intent: the robot is stopped (latched by ${printable(String(latched.by))} at ${latched.since}): following the run to its end, since anything it moves will be refused until \`auraison-edge stop --release\`\n`,
        );
      if (values.wait || latched) {
        const { describeEvent } = await import('../../agent/index.ts');
        const follow = new RunFollow({ client, io, json: values.json === true, timeoutS, describe: describeEvent });
        run = await follow.run(submit);
      } else run = await submit();
      const reason = run.reason ? ` (${run.reason})` : '';
      io.stdout(values.json ? `${JSON.stringify({ run })}\n` : `run ${shortId(run.run_id)}: ${run.status}${reason}\n`);
      return run.status === 'failed' || run.status === 'cancelled' || run.status === 'interrupted' ? 1 : 0;
    } catch (error) {
      api.report(error);
      return 1;
    }
  },
};

/** The operator's latched stop, as the daemon's status shows it; undefined when none, or unknown. */
async function stopLatch(client: ApiClient): Promise<{ by: unknown; since: unknown } | undefined> {
  try {
    const status = await client.get<DaemonStatus>('/status');
    const latch = status.components.stop?.details?.stop_latch;
    return latch && typeof latch === 'object' ? (latch as { by: unknown; since: unknown }) : undefined;
  } catch {
    return undefined; // no status: the intent itself says whether the daemon answers
  }
}
