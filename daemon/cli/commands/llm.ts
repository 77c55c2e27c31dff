import { numberOption, parseCommandArgs } from '../args.ts';
import { UsageError, type Command } from '../command.ts';
import { resolveConfig } from '../config-option.ts';
import { baseUrlProblem } from '../../../adapters/vllm/redact-url.ts';

export const command: Command = {
  name: 'llm',
  summary: 'Check System 2 model endpoints: list models, time a short completion',
  help: `Usage: auraison-edge llm check [--base-url URL] [--model M] [--api-key-env VAR] [--config FILE] [--json]

For each endpoint of the config's llm.endpoints (or only --base-url), lists the models it serves
(GET /models), then times a short streamed completion: time to first token and total. It says what failed:
no answer, an HTTP error, the configured model not served, a stream cut short.

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
    if (positionals[0] !== 'check') throw new UsageError(`unknown subcommand ${JSON.stringify(positionals[0])} (check)`);
    const urlProblem = values['base-url'] === undefined ? undefined : baseUrlProblem(values['base-url']);
    if (urlProblem) throw new UsageError(`--base-url: ${urlProblem}`);
    const timeout = numberOption('timeout-ms', values['timeout-ms'], { min: 1, integer: true });
    const { config } = resolveConfig(values.config, io.env);
    const { checkEndpoints, formatCheck } = await import('../../../adapters/vllm/llm-check.ts');
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
