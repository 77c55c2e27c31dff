import type { RunState } from '../../contract/index.ts';
import { MAX_TIMEOUT_OPTION_S, numberOption, parseCommandArgs } from '../args.ts';
import { UsageError, type Command } from '../command.ts';
import { daemonApi } from '../api-command.ts';

export const command: Command = {
  name: 'intent',
  summary: 'Submit an intent to the running daemon\'s agent (over its HTTP API)',
  help: `Usage: auraison-edge intent SKILL [--params JSON] [options]
       auraison-edge intent --text "go to the charging dock" [options]

Submits an intent with POST /intents to the daemon that uses this config's data dir, and prints the run.
A skill intent (navigate_to, run_policy, read_topic, publish, call_service, stop) runs with no model; a
natural-language one (--text) is planned by System 2.

Options:
  --params JSON       the skill's arguments, e.g. '{"x": 1.5, "y": 2}'
  --text TEXT         a natural-language intent
  --validators JSON   checks of the outcome, e.g. '[{"type":"goal_reached","tolerance_m":0.2}]'
  --approval          every acting call waits for approval (policy_ctx.requires_approval); stop and
                      read_topic are exempt (they only take motion away or read) unless listed in
                      agent.require_approval
  --actor NAME        who asks (default: $USER)
  --wait              wait until the run ends or waits for approval, then print it
  --timeout-s N       with --wait: give up after N seconds (default 300)
  --url URL           the API (default: <data_dir>/run/api.json, else config api.host/api.port)
  --token TOKEN       bearer token (default: $AURAISON_EDGE_API_TOKEN, else config api.token)
  --config FILE       the daemon's config (default: $AURAISON_EDGE_CONFIG, else the embedded default)
  --json              print JSON

Exit codes: 0 accepted (with --wait: succeeded or awaiting approval), 1 refused, failed or no daemon, 2 bad usage.
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
    if (values.text !== undefined && values.params !== undefined) throw new UsageError('--params is for skill intents; a --text intent has none');
    const parseJson = (name: string, text: string | undefined): unknown => {
      if (text === undefined) return undefined;
      try {
        return JSON.parse(text);
      } catch (error) {
        throw new UsageError(`--${name}: not JSON (${(error as Error).message})`);
      }
    };
    const params = (parseJson('params', values.params) ?? {}) as Record<string, unknown>;
    if (params === null || typeof params !== 'object' || Array.isArray(params)) throw new UsageError('--params: expected a JSON object');
    const validators = parseJson('validators', values.validators);
    if (values.text !== undefined) params.text = values.text;
    if (validators !== undefined) params.validators = validators;
    if (values['timeout-s'] !== undefined && !values.wait) throw new UsageError('--timeout-s is for --wait: without it, intent returns as soon as the run is accepted');
    const timeoutS = numberOption('timeout-s', values['timeout-s'], { min: 0, exclusiveMin: true, max: MAX_TIMEOUT_OPTION_S }) ?? 300;
    const api = await daemonApi('intent', values, io);
    if (!api) return 1;
    const { client } = api;
    const body = {
      type: skill ?? 'natural_language',
      params,
      policy_ctx: { actor: values.actor ?? io.env.USER ?? 'cli', source: 'cli', ...(values.approval ? { requires_approval: true } : {}) },
    };
    try {
      let { run } = await client.post<{ run: RunState }>('/intents', body);
      if (values.wait) run = await waitForRun(client, run, timeoutS);
      io.stdout(values.json ? `${JSON.stringify({ run })}\n` : `run ${run.run_id}: ${run.status}${run.reason ? ` (${run.reason})` : ''}\n`);
      return run.status === 'failed' || run.status === 'cancelled' || run.status === 'interrupted' ? 1 : 0;
    } catch (error) {
      api.report(error);
      return 1;
    }
  },
};

async function waitForRun(client: { get<T>(path: string): Promise<T> }, run: RunState, timeoutS: number): Promise<RunState> {
  const deadline = performance.now() + timeoutS * 1000; // monotonic: an NTP step neither ends nor stretches the wait
  let current = run;
  while (!['succeeded', 'failed', 'cancelled', 'interrupted', 'awaiting_approval'].includes(current.status)) {
    if (performance.now() > deadline) throw new Error(`run ${run.run_id} still ${current.status} after ${timeoutS} s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    current = (await client.get<{ run: RunState }>(`/runs/${run.run_id}`)).run;
  }
  return current;
}
