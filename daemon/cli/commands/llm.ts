import {
  type Command,
  MAX_TIMEOUT_OPTION_MS,
  numberOption,
  parseCommandArgs,
  UsageError,
} from '../../cli-kit/index.ts';
import { resolveConfig } from '../config-option.ts';
import { baseUrlProblem } from '../../util/index.ts';

/** What an environment variable's name looks like (POSIX). */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const command: Command = {
  name: 'llm',
  summary: 'Check System 2 model endpoints: list models, time a short completion',
  help: `Usage: auraison-edge llm check [--base-url URL] [--model M] [--api-key-env VAR] [--timeout-ms N] [--config FILE] [--json]

For each endpoint of the config's llm.endpoints (or only --base-url), lists the models it serves
(GET /models), then times a short streamed completion: time to first token and total. It says what failed:
no answer, an HTTP error, the configured model not served, a stream cut short. An endpoint whose
api_key_env (or --api-key-env) names a variable that is not set is checked without a key, with a warning.

Options:
  --base-url URL      check this OpenAI-compatible endpoint instead (e.g. http://localhost:8000/v1)
  --model M           the model to complete with (default: the endpoint's, else the first it lists)
  --api-key-env VAR   with --base-url: the environment variable holding its API key
  --timeout-ms N      each step's limit: the whole model list (headers and body), connect, first token,
                      silence mid-stream (default: the endpoint's timeouts)
  --config FILE       the daemon's config (default: $AURAISON_EDGE_CONFIG, else the embedded default)
  --json              print one JSON object

Exit codes: 0 every endpoint answered, 1 one failed (or none is configured), 2 bad usage.
`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        'base-url': { type: 'string' },
        model: { type: 'string' },
        'api-key-env': { type: 'string' },
        'timeout-ms': { type: 'string' },
        config: { type: 'string' },
        json: { type: 'boolean' },
      },
      { min: 1, max: 1, names: 'check' },
    );
    if (positionals[0] !== 'check')
      throw new UsageError(`unknown subcommand ${JSON.stringify(positionals[0])} (check)`);
    const urlProblem = values['base-url'] === undefined ? undefined : baseUrlProblem(values['base-url']);
    if (urlProblem) throw new UsageError(`--base-url: ${urlProblem}`);
    const keyEnv = values['api-key-env'];
    // Without --base-url it would be dropped without a word: configured endpoints name theirs in the config.
    if (keyEnv !== undefined && values['base-url'] === undefined)
      throw new UsageError(
        '--api-key-env is for --base-url: a configured endpoint takes its key from llm.endpoints[].api_key_env',
      );
    // Most likely the key itself, pasted where its variable's name goes: never echo it.
    if (keyEnv !== undefined && !ENV_NAME.test(keyEnv))
      throw new UsageError(
        '--api-key-env: not an environment variable name (value not shown): give the name of the variable that holds the key (e.g. VLLM_API_KEY), not the key itself',
      );
    const timeout = numberOption('timeout-ms', values['timeout-ms'], {
      min: 1,
      max: MAX_TIMEOUT_OPTION_MS,
      integer: true,
    });
    const { config } = resolveConfig(values.config, io.env);
    // The daemon warns of a key variable that is unset (its requests go without a key); so does the check,
    // or a gateway's 401 would be all the user sees.
    if (keyEnv !== undefined && !io.env[keyEnv])
      io.stderr(`warning: --api-key-env: $${keyEnv} is not set: the endpoint is checked without an API key\n`);
    if (values['base-url'] === undefined) {
      const { missingKey } = await (await import('../../components/index.ts')).loadVllm();
      for (const endpoint of config.llm.endpoints) {
        const problem = missingKey(endpoint, io.env);
        if (problem) io.stderr(`warning: ${problem}: the endpoint is checked without an API key\n`);
      }
    }
    const { checkEndpoints, formatCheck } = await (await import('../../components/index.ts')).loadVllm();
    const report = await checkEndpoints({
      endpoints: config.llm.endpoints,
      baseUrl: values['base-url'],
      model: values.model,
      apiKeyEnv: values['api-key-env'],
      timeoutMs: timeout,
      env: io.env,
    });
    io.stdout(values.json ? `${JSON.stringify(report)}\n` : formatCheck(report));
    return report.ok ? 0 : 1;
  },
};
