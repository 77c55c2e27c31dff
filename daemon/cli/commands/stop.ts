import type { RobotStopOutcome } from '../../contract/services.ts';
import { parseCommandArgs } from '../args.ts';
import { UsageError, type Command } from '../command.ts';
import { API_CLIENT_OPTIONS, daemonApi } from '../api-command.ts';

export const command: Command = {
  name: 'stop',
  summary: "Stop the robot now: abort the agent's motion, send zero velocity, cancel every run",
  help: `Usage: auraison-edge stop [--by NAME] [--reason TEXT] [options]

Stops the robot through the running daemon (POST /stop). First, before anything that could wait (the
journal's disk, a model, a person's approval): the motion skill driving the robot (navigate_to, run_policy)
is aborted and a zero Twist goes to the velocity topic (policy.velocity.topic), dropping the commands still
queued before it. Then every run that has not ended is cancelled, and so is the run of an intent being
accepted at that moment, so no model moves the robot again and no run awaiting approval moves it once
approved. The reply waits about a second for the journal: a journal that cannot record the cancels (a full
disk), or has not yet (a stuck disk), does not undo the stop, and is reported.

It is not a latch: an intent sent afterwards runs. Control loops that run on their own (control.loops
with autostart: true) are not the agent's and keep their own safe action. It is a software stop, not a
safety-rated emergency stop: keep the robot's hardware e-stop. Other processes on the robot get the same
stop from the bus query \`agent/stop\`.

Options:
  --by NAME       who stops it, recorded in each cancelled run (default: $USER, else cli)
  --reason TEXT   why, recorded in each cancelled run
  --url URL       the API (default: <data_dir>/run/api.json, else config api.host/api.port)
  --token TOKEN   bearer token (default: $AURAISON_EDGE_API_TOKEN, else config api.token)
  --config FILE   the daemon's config (default: $AURAISON_EDGE_CONFIG, else the embedded default)
  --json          print the reply: {topic, aborted, cancelled: [run ids], journal_error}

Exit codes: 0 stopped (also when the journal could not record the cancels: see the warning), 1 no daemon
answered, its agent is not running, or the zero Twist could not be sent (the robot was NOT stopped by this
command: use its hardware e-stop), 2 bad usage.
`,
  async run(argv, io) {
    const { values } = parseCommandArgs(
      argv,
      { by: { type: 'string' }, reason: { type: 'string' }, ...API_CLIENT_OPTIONS },
    );
    // $USER is only a default: one a service environment leaves empty (or one too long) must not keep the
    // robot from being stopped.
    const user = io.env.USER;
    const by = values.by ?? (user && user.length <= 128 ? user : 'cli');
    if (by.length === 0 || by.length > 128) throw new UsageError(`--by: expected 1 to 128 characters, got ${by.length}`);
    if (values.reason !== undefined && values.reason.length > 1024) throw new UsageError(`--reason: at most 1024 characters, got ${values.reason.length}`);
    const api = await daemonApi('stop', values, io, { notDone: 'the robot was NOT stopped: ' });
    if (!api) return 1;
    try {
      const outcome = await api.client.post<RobotStopOutcome>('/stop', { by, ...(values.reason !== undefined ? { reason: values.reason } : {}) });
      io.stdout(values.json ? `${JSON.stringify(outcome)}\n` : stopText(outcome));
      return 0;
    } catch (error) {
      api.report(error);
      return 1;
    }
  },
};

function stopText(o: RobotStopOutcome): string {
  const lines = [`stopped: zero Twist on ${o.topic}${o.aborted ? `, ${o.aborted} aborted` : ''}`];
  lines.push(o.cancelled.length === 0 ? 'no run was active' : `cancelled ${o.cancelled.length} run${o.cancelled.length === 1 ? '' : 's'}: ${o.cancelled.join(', ')}`);
  if (o.journal_error) lines.push(`warning: the robot is stopped and the runs are ended, but their cancels are not all journaled: ${o.journal_error}`);
  return `${lines.join('\n')}\n`;
}
