import { resolve } from 'node:path';
import { stringify } from 'yaml';
import { formatIssue } from '../../util/index.ts';
import { checkConfigFile, ConfigError, defaultConfig, type ConfigCheck } from '../../config/index.ts';
import { restoreTemplates } from '../../config/index.ts';
import { type Command, parseCommandArgs, UsageError } from '../../cli-kit/index.ts';
import { startIssues } from '../config-option.ts';
import { configWarnings } from '../config-warnings.ts';

export const command: Command = {
  name: 'config',
  summary: 'Check a config file, or show the config in effect (defaults filled in)',
  help: `Usage: auraison-edge config check [--config FILE] [--json]
       auraison-edge config show [--config FILE] [--json]

check  validates the config as \`run\` does, without starting anything: the schema (unknown keys, types,
       ranges), \${ENV} references, the checks across keys (api.port and foxglove.port, api.host
       off loopback without api.token, foxglove.host without allow_remote, policy clip bounds, control
       loops): what \`run\` and a reload refuse, with the same message. Then each policy that is served
       or runs in a loop, read as its start reads it, without a session: its ONNX model's inputs and
       outputs against the manifest (names, sizes, images), its stats files, its loops. \`run\` refuses
       those too; a reload does not (it restarts the component, which fails and says why). Every problem
       is printed, one per line in the order of the file:
         edge.yaml: sim.speed: expected number >= 0.01, got "fast"
       A valid config may still leave the robot without a topic it reads: a motion.joints.robot_description
       or a control loop's input topic that no bridge brings onto the bus (ros.topics, zenoh.topics), with
       the sim off; or a robot on a ROS 2 or Zenoh graph named as the sim (robot.id sim-robot). Each is a
       warning, with what to do; the file is still valid (a relay or a Foxglove client inside the daemon
       may publish a topic):
         edge.yaml: warning: motion.joints.robot_description: /robot_description is not bridged ...
       --json prints {"file", "valid", "problems": [{"path", "message", "line"?, "column"?}],
       "warnings": [{"path", "message"}]}.
show   prints the config in effect, every default filled in, as YAML (or JSON with --json). A value
       written with \${ENV} is shown as written, so secrets from the environment are never printed, and
       a secret written in the file itself (api.token, any key named token, password, secret or api_key)
       is shown as <hidden>, and a password in a URL (http://user:pw@host) as ***.

Options:
  --config FILE  the config (default: $AURAISON_EDGE_CONFIG, else the embedded default)
  --json         machine-readable output

Exit codes: 0 valid, 2 invalid config (or bad usage).
`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(
      argv,
      { config: { type: 'string' }, json: { type: 'boolean' } },
      { min: 1, max: 1, names: 'check | show' },
    );
    const action = positionals[0]!;
    if (action !== 'check' && action !== 'show')
      throw new UsageError(`unknown subcommand "${action}": expected check or show`);
    const path = values.config ?? io.env.AURAISON_EDGE_CONFIG;
    const { config, issues, templates, file, name } = path
      ? checkConfigFile(resolve(io.cwd, path), io.env)
      : { ...embedded(), file: undefined, name: '<default config>' };
    if (action === 'check') {
      if (config) issues.push(...(await startIssues(config)));
      const warnings = config && issues.length === 0 ? configWarnings(config) : [];
      if (values.json)
        io.stdout(
          `${JSON.stringify({ file: file ?? null, valid: issues.length === 0, problems: issues, warnings })}\n`,
        );
      else if (issues.length === 0)
        io.stdout(`${warnings.map((w) => `${name}: warning: ${formatIssue(w)}\n`).join('')}${name}: valid\n`);
      else io.stdout(issues.map((issue) => `${name}: ${formatIssue(issue)}\n`).join(''));
      return issues.length === 0 ? 0 : 2;
    }
    if (!config) throw new ConfigError(name, issues);
    const { redactUrl } = await import('../../util/index.ts');
    const shown = hideSecrets(restoreTemplates(config, templates), redactUrl);
    io.stdout(values.json ? `${JSON.stringify(shown, null, 2)}\n` : stringify(shown));
    return 0;
  },
};

function embedded(): ConfigCheck {
  return { config: defaultConfig(), issues: [], templates: [] };
}

/** What show prints for a secret written literally in the file. */
const HIDDEN = '<hidden>';

/**
 * Keys that hold a secret: `token`, `api_token`, `password`, `client_secret`, `api_key` (not `api_key_env`, a name).
 */
const SECRET_KEY = /(?:^|_)(?:token|password|passwd|secret|api_?key)$/i;

/** A value written as a `${ENV}` reference: shown as written, since it names the secret, never holds it. */
const ENV_REFERENCE = /\$\{[A-Za-z_]/;

/**
 * The config with each non-empty secret hidden, unless it is a `${ENV}` reference (already put back as
 * written): a config shown in a ticket or a CI log must not carry the token written in the file. A
 * password in a URL's userinfo (`base_url: http://user:pw@host/v1`) is a secret too, whatever the key:
 * it becomes `***`, as in `status` and `llm check`.
 */
function hideSecrets(value: unknown, redactUrl: (url: string) => string): unknown {
  if (Array.isArray(value)) return value.map((item) => hideSecrets(item, redactUrl));
  if (typeof value === 'string') return ENV_REFERENCE.test(value) ? value : redactUrl(value);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [
      key,
      SECRET_KEY.test(key) && typeof item === 'string' && item !== '' && !ENV_REFERENCE.test(item)
        ? HIDDEN
        : hideSecrets(item, redactUrl),
    ]),
  );
}
