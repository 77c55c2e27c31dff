import { type Command, parseCommandArgs, UsageError } from '../../cli-kit/index.ts';
import { API_CLIENT_OPTIONS, daemonApi } from '../api-command.ts';
import { printable } from '../../util/index.ts';

export const command: Command = {
  name: 'control',
  summary: "Start a control loop held since the operator's stop was released",
  help: `Usage: auraison-edge control start LOOP [options]

After \`auraison-edge stop --release\` the robot may move again, but nothing moves it by itself: each autostart
control loop (control.loops.<name>) holds its safe action until an operator starts it. \`control start LOOP\` lets
LOOP's policy drive again (POST /control/loops/LOOP/start; the agent's start_loop skill does the same for MCP and
central). It is refused while the stop is latched. \`auraison-edge status\` shows which loops are held.

Options:
  --url URL      the API (default: <data_dir>/run/api.json, else config api.host/api.port)
  --token TOKEN  bearer token (default: $AURAISON_EDGE_API_TOKEN, else config api.token)
  --config FILE  the daemon's config (default: $AURAISON_EDGE_CONFIG, else the embedded default)
  --json         print the answer as JSON: {loop, started, message}

Exit codes: 0 started (or running already), 1 refused (the stop latched, no such loop) or no daemon, 2 bad usage.
`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, API_CLIENT_OPTIONS, { max: 2, names: 'start LOOP' });
    const [verb, loop] = positionals;
    if (verb !== 'start') throw new UsageError(`expected \`control start LOOP\`, got ${JSON.stringify(verb ?? '')}`);
    if (!loop) throw new UsageError('control start: give the LOOP to start (control.loops.<name>)');
    const api = await daemonApi('control start', values, io);
    if (!api) return 1;
    try {
      const answer = await api.client.post<{ loop: string; started: boolean; message: string }>(
        `/control/loops/${encodeURIComponent(loop)}/start`,
      );
      io.stdout(values.json ? `${JSON.stringify(answer)}\n` : `${printable(answer.message)}\n`);
      return 0;
    } catch (error) {
      api.report(error);
      return 1;
    }
  },
};
