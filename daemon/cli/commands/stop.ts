import type { RobotStopOutcome } from '../../contract/services.ts';
import { parseCommandArgs } from '../args.ts';
import { UsageError, type Command } from '../command.ts';
import { unreachableAdvice } from '../api-unreachable.ts';
import { resolveClientConfig } from '../config-option.ts';

export const command: Command = {
  name: 'stop',
  summary: "Stop the robot now: abort the agent's motion, send zero velocity, cancel every run",
  help: `Usage: auraison-edge stop [--by NAME] [--reason TEXT] [options]

Stops the robot through the running daemon (POST /stop). First, before anything that could wait (the
journal's disk, a model, a person's approval): the motion skill driving the robot (navigate_to, run_policy)
is aborted and a zero Twist goes to the velocity topic (policy.velocity.topic), dropping the commands still
queued before it. Then every run that has not ended is cancelled, so no model moves the robot again and no
run awaiting approval moves it once approved. A journal that cannot record the cancels (a full disk) does
not undo the stop: it is reported, and the runs read \`interrupted\` after a restart.

It is not a latch: an intent sent afterwards runs. Control loops that run on their own (control.loops
with autostart: true) are not the agent's and keep their own safe action. It is a software stop, not a
safety-rated emergency stop: keep the robot's hardware e-stop. Other processes on the robot get the same
stop from the bus query \`agent/stop\`.

Options:
  --by NAME       who stops it, recorded in each cancelled run (default: $USER)
  --reason TEXT   why, recorded in each cancelled run
  --url URL       the API (default: <data_dir>/run/api.json, else config api.host/api.port)
  --token TOKEN   bearer token (default: $AURAISON_EDGE_API_TOKEN, else config api.token)
  --config FILE   the daemon's config (default: $AURAISON_EDGE_CONFIG, else the embedded default)
  --json          print the reply: {topic, aborted, cancelled: [run ids], journal_error}

Exit codes: 0 stopped (also when the journal could not record the cancels: see the message), 1 no daemon
answered or its agent is not running (the robot was NOT stopped by this command), 2 bad usage.
`,
  async run(argv, io) {
    const { values } = parseCommandArgs(
      argv,
      { by: { type: 'string' }, reason: { type: 'string' }, url: { type: 'string' }, token: { type: 'string' }, config: { type: 'string' }, json: { type: 'boolean' } },
      { min: 0, max: 0 },
    );
    const by = values.by ?? io.env.USER ?? 'cli';
    if (by.length === 0 || by.length > 128) throw new UsageError(`--by: expected 1 to 128 characters, got ${by.length}`);
    if (values.reason !== undefined && values.reason.length > 1024) throw new UsageError(`--reason: at most 1024 characters, got ${values.reason.length}`);
    const { config, warning } = resolveClientConfig(values.config, io.env);
    if (warning) io.stderr(warning);
    const { resolveDataDir } = await import('../../config/load.ts');
    const { ApiClient, ApiClientError, resolveApiTarget } = await import('../../api/client.ts');
    const dataDir = resolveDataDir(config, io.cwd);
    const target = resolveApiTarget({ config, dataDir, env: io.env, url: values.url, token: values.token });
    if (!target) {
      io.stderr('auraison-edge stop: the robot was NOT stopped: no API to send to (the config has api.enabled false or api.port 0 and no daemon wrote run/api.json); give --url\n');
      return 1;
    }
    try {
      const outcome = await new ApiClient(target).post<RobotStopOutcome>('/stop', { by, ...(values.reason !== undefined ? { reason: values.reason } : {}) });
      io.stdout(values.json ? `${JSON.stringify(outcome)}\n` : stopText(outcome));
      return 0;
    } catch (error) {
      if (!(error instanceof ApiClientError)) throw error;
      const advice = error.code === 'unreachable' ? `\n${unreachableAdvice(target, dataDir)}` : '';
      io.stderr(`auraison-edge stop: the robot was NOT stopped: ${error.message}${advice}\n`);
      return 1;
    }
  },
};

function stopText(o: RobotStopOutcome): string {
  const lines = [`stopped: zero Twist on ${o.topic}${o.aborted ? `, ${o.aborted} aborted` : ''}`];
  lines.push(o.cancelled.length === 0 ? 'no run was active' : `cancelled ${o.cancelled.length} run${o.cancelled.length === 1 ? '' : 's'}: ${o.cancelled.join(', ')}`);
  if (o.journal_error) lines.push(`warning: the cancels were not all journaled (${o.journal_error}); the runs are stopped, and read interrupted after a restart`);
  return `${lines.join('\n')}\n`;
}
