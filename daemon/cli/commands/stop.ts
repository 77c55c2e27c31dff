import { existsSync } from 'node:fs';
import type { ApiClient } from '../../api/index.ts';
import {
  latchText,
  type RobotHaltOutcome,
  type HaltLatchState,
  type HaltReleaseOutcome,
} from '../../contract/index.ts';
import type { DataDirLock } from '../../lifecycle/index.ts';
import { printable, shortIds, errorText } from '../../util/index.ts';
import { type Command, type CommandIO, parseCommandArgs, UsageError } from '../../cli-kit/index.ts';
import { API_CLIENT_OPTIONS, daemonApi } from '../api-command.ts';
import { clientTargetOrOther, describeDaemon } from '../daemon-target.ts';

export const command: Command = {
  name: 'stop',
  summary:
    "Stop the robot now: abort the agent's motion, send zero velocity, cancel every run; --release lets it move again",
  help: `Usage: auraison-edge stop [--by NAME] [--reason TEXT] [options]
       auraison-edge stop --release [--by NAME] [options]

Stops the robot through the running daemon: on its stop listener (motion.stop.listener, stop_url in
<data_dir>/run/api.json), which holds the control loops and the sim and sends its own zero commands
without waiting for the daemon's event loop, then prints the daemon's full report; else (no listener, or
it does not answer) through the API's POST /stop. Then, before anything that could wait (the
journal's disk, a model, a person's approval): the motion skill driving the robot (navigate_to, run_policy)
is aborted and a zero Twist goes to the velocity topic (motion.velocity.topic), dropping the commands still
queued before it; every other topic motion.velocity.topics governs that carries a Twist or TwistStamped on
the bus (a namespaced base's /robot1/cmd_vel) gets a zero one of its type. Then every run that has not ended is cancelled, and so is the run of an intent being
accepted at that moment, so no model moves the robot again and no run awaiting approval moves it once
approved. The reply waits about a second for the journal: a journal that cannot record the cancels (a full
disk), or has not yet (a stuck disk), does not undo the stop, and is reported.

The stop latches (motion.stop.latch, on by default): until a person releases it, nothing the daemon
governs moves the robot. navigate_to and run_policy are refused, and so is every command that actuates, on
any topic (a Twist that moves, an arm's JointTrajectory, a forward controller's Float64MultiArray), from a
model, a skill intent, \`topic pub\` or a Foxglove teleop panel; each refusal names who latched the stop, the
type, and how to release it. The latch is kept in <data_dir>/state/stop-latch.json, so a
restart, a reload or a crash does not release it. \`--release\` releases it (POST /stop/release): nothing
that was stopped restarts, new intents are taken from then on. With no daemon running, --release removes
the latch file itself.

Control loops that run on their own (control.loops with autostart: true) are not the agent's: the stop
does not end them, but while it is latched each sends its safe_action in place of the policy's. With no
agent running the stop still sends the zero Twist and latches. It is a software stop, not a safety-rated
emergency stop: keep the robot's hardware e-stop. It prints first the daemon it stopped, \`daemon: <data_dir>
(pid N, <url>)\`, and refuses (exit 1) when the daemon at the config's api.port is another data dir's, naming
it and the --url that would stop it. Other processes on the robot get the same stop from the
bus query \`agent/stop\`, with or without an agent.

Options:
  --by NAME       who stops it, recorded in each cancelled run and the latch (default: $USER, else cli)
  --reason TEXT   why, recorded in each cancelled run and the latch
  --release       release the latched stop instead: the robot may move again
  --url URL       the API (default: <data_dir>/run/api.json, else config api.host/api.port)
  --token TOKEN   bearer token (default: $AURAISON_EDGE_API_TOKEN, else config api.token)
  --config FILE   the daemon's config (default: $AURAISON_EDGE_CONFIG, else the embedded default)
  --json          print the reply: {topic, aborted, cancelled: [run ids], journal_error, latched,
                  zeroed: [the other velocity topics zeroed], held: [arm command topics held],
                  not_held: {topic: why}}
                  (--release: {released, latch})

Exit codes: 0 stopped (also when the journal could not record the cancels: see the warning), 1 no daemon
answered or the zero Twist could not be sent (the robot was NOT stopped by this
command: use its hardware e-stop), an arm command topic was not held where the arm is (no fresh measurement of a
joint, or another node publishes the joint states: NOT HELD names each; the stop is latched all the same), or the
stop listener took the stop and the daemon did not confirm it
within 3 s (its event loop is stuck: the message says what was zeroed), 2 bad usage. --release: 0 released (or none was latched), 1 the
latch could not be released (it holds: the message says why).
`,
  async run(argv, io) {
    const { values } = parseCommandArgs(argv, {
      by: { type: 'string' },
      reason: { type: 'string' },
      release: { type: 'boolean' },
      ...API_CLIENT_OPTIONS,
    });
    // $USER is only a default: one a service environment leaves empty (or one too long) must not keep the
    // robot from being stopped.
    const user = io.env.USER;
    const by = values.by ?? (user && user.length <= 128 ? user : 'cli');
    if (by.length === 0 || by.length > 128)
      throw new UsageError(`--by: expected 1 to 128 characters, got ${by.length}`);
    if (values.reason !== undefined && values.reason.length > 1024)
      throw new UsageError(`--reason: at most 1024 characters, got ${values.reason.length}`);
    if (values.release) {
      if (values.reason !== undefined) throw new UsageError('--reason is for a stop, not --release');
      return release(by, values, io);
    }
    const api = await daemonApi('stop', values, io, { notDone: 'the robot was NOT stopped: ' });
    if (!api) return 1;
    try {
      const answer = await sendStop(
        api.client,
        { by, ...(values.reason !== undefined ? { reason: values.reason } : {}) },
        io,
      );
      // asked after the stop was sent: with --url, who answered is known only then
      const daemon = values.json ? undefined : await api.addressed();
      const full = 'topic' in answer;
      io.stdout(
        values.json
          ? `${JSON.stringify(answer)}\n`
          : `${daemon ? `${describeDaemon(daemon)}\n` : ''}${full ? stopText(answer) : unconfirmedText(answer)}`,
      );
      // A stop that left an arm unheld is not a full stop: said (NOT HELD), and exit 1.
      return full && Object.keys(answer.not_held ?? {}).length === 0 ? 0 : 1;
    } catch (error) {
      api.report(error);
      return 1;
    }
  },
};

/** The stop listener's own answer, when the daemon's main thread had not reported the stop in time (202). */
interface ListenerStop {
  zeroed: string[];
  not_zeroed: Record<string, string>;
  taken_by_daemon: string;
}

/**
 * Sends the stop: to the stop listener when the daemon runs one (stop_url in run/api.json), which takes it without
 * waiting for the daemon's event loop and answers with the daemon's full report once the main thread has it; to
 * the API's POST /stop when there is none, or it does not answer (its thread restarting): a stop tries every door.
 */
async function sendStop(
  client: ApiClient,
  order: { by: string; reason?: string },
  io: CommandIO,
): Promise<RobotHaltOutcome | ListenerStop> {
  const { stopUrl, token, from } = client.target;
  if (stopUrl) {
    const { ApiClient: Client, ApiClientError } = await import('../../api/index.ts');
    try {
      return await new Client({ url: stopUrl, token, from: `stop_url in ${from}` }).post('/stop?report=full', order);
    } catch (error) {
      if (!(error instanceof ApiClientError) || error.code !== 'unreachable') throw error;
      io.stderr(`auraison-edge stop: warning: ${error.message}; sending the stop to the API instead\n`);
    }
  }
  return client.post<RobotHaltOutcome>('/stop', order);
}

function unconfirmedText(o: ListenerStop): string {
  const failed = Object.entries(o.not_zeroed).map(([name, why]) => `\nnot zeroed: ${name}: ${why}`);
  return (
    `stopped on the stop line (the control loops and the sim hold; zero commands: ${o.zeroed.join(', ')})${failed.join('')}\n` +
    `NOT confirmed by the daemon: ${o.taken_by_daemon}. If the robot still moves, use its hardware e-stop\n`
  );
}

function stopText(o: RobotHaltOutcome): string {
  const also = o.zeroed?.length ? ` (and a stop command on ${o.zeroed.join(', ')})` : '';
  const aborted = o.aborted ? `, ${o.aborted} aborted` : '';
  // An arm's stop is its hold: said first. The zero Twist goes out all the same (a stop errs on the side of sending),
  // to a topic the arm's config may not name: said as a base's, so it is not read as the arm's stop.
  const arm = (o.held?.length ?? 0) > 0 || Object.keys(o.not_held ?? {}).length > 0;
  const lines = arm
    ? [
        o.held?.length
          ? `stopped: the arm held where measured on ${o.held.join(', ')}${aborted}`
          : `stop taken, but the arm is NOT held where it is (below)${aborted}`,
        `a zero Twist went to ${o.topic} too, for a wheeled base (motion.velocity.topic; the bus lists it among its topics)${also}`,
      ]
    : [`stopped: zero Twist on ${o.topic}${also}${aborted}`];
  const short = shortIds(o.cancelled); // the form `runs list` shows and `runs show` takes
  const cancelled = o.cancelled.map((id) => short.get(id)).join(', ');
  lines.push(
    o.cancelled.length === 0
      ? 'no run was active'
      : `cancelled ${o.cancelled.length} run${o.cancelled.length === 1 ? '' : 's'}: ${cancelled}`,
  );
  for (const [topic, why] of Object.entries(o.not_held ?? {}))
    lines.push(`NOT HELD: ${printable(topic)}: ${printable(why)} (the arm may go on moving there: use its e-stop)`);
  if (o.journal_error)
    lines.push(
      `warning: the robot is stopped and the runs are ended, but their cancels are not all journaled: ${o.journal_error}`,
    );
  // A stop while latched is added to the latch, which stays the first stop's: said, so its reason is not taken as lost.
  if (o.latched?.again)
    lines.push(
      `already latched by ${latchText(o.latched, printable)}: nothing the daemon governs moves the robot until released (\`auraison-edge stop --release\`)`,
    );
  else if (o.latched)
    lines.push('latched: nothing the daemon governs moves the robot until released (`auraison-edge stop --release`)');
  if (o.latched?.error) lines.push(`warning: ${o.latched.error}`);
  return `${lines.join('\n')}\n`;
}

/**
 * `stop --release`: POST /stop/release on the running daemon. With no daemon running on the data dir, the
 * latch is only its file, which is removed here; a daemon that runs but does not answer keeps its latch in
 * memory, so its file is left alone and the user is told. Whether a daemon runs is the data dir lock's to
 * say, not run/daemon.json's (gone when the disk was full at its start, or naming a pid since reused); the
 * lock is held while the file is removed, so no daemon starts and reads it meanwhile.
 */
async function release(
  by: string,
  values: { url?: string; token?: string; config?: string; json?: boolean },
  io: CommandIO,
): Promise<number> {
  // A daemon of another data dir at the config's port matters only if this data dir's daemon runs: else
  // the latch is this data dir's file, removed below.
  const { dataDir, found, other } = await clientTargetOrOther(values, io);
  const target = found?.target;
  const { DataDirLock: Lock, readOwner } = await import('../../lifecycle/index.ts');
  let lock: DataDirLock | undefined;
  let busy: Error | undefined;
  // No data dir, no daemon and no latch: none is made just to find that out.
  if (!values.url && existsSync(dataDir)) {
    try {
      lock = await Lock.acquire(dataDir, undefined);
    } catch (error) {
      busy = error as Error;
    }
  }
  try {
    if (values.url || busy) {
      if (other) {
        io.stderr(`auraison-edge stop --release: the stop was NOT released: ${other.message}\n`);
        return 1;
      }
      if (!target) {
        const owner = readOwner(dataDir);
        const who = /is in use/.test(busy!.message)
          ? `a daemon${owner ? ` (pid ${owner.pid})` : ''} runs on ${dataDir}`
          : busy!.message;
        io.stderr(
          `auraison-edge stop --release: the stop was NOT released: ${who} with no API to ask (api.enabled false or api.port 0), and holds its latch in memory; give --url, or stop the daemon and run this again\n`,
        );
        return 1;
      }
      const api = await daemonApi('stop --release', values, io, { notDone: 'the stop was NOT released: ' });
      if (!api) return 1;
      try {
        const outcome = await api.client.post<HaltReleaseOutcome>('/stop/release', { by });
        // As a stop says which daemon it stopped: the one that answered.
        const daemon = values.json ? undefined : await api.addressed();
        io.stdout(
          values.json
            ? `${JSON.stringify(outcome)}\n`
            : `${daemon ? `${describeDaemon(daemon)}\n` : ''}${releaseText(outcome.latch, 'released')}`,
        );
        return 0;
      } catch (error) {
        api.report(error);
        return 1;
      }
    }
    const { releaseLatchFile } = await import('../../halt/index.ts');
    let removed: HaltLatchState | undefined;
    try {
      removed = releaseLatchFile(dataDir);
    } catch (error) {
      io.stderr(`auraison-edge stop --release: the stop was NOT released: ${errorText(error)}\n`);
      return 1;
    }
    io.stdout(
      values.json
        ? `${JSON.stringify({ released: removed !== undefined, latch: removed ?? null })}\n`
        : releaseText(removed, `no daemon runs with data dir ${dataDir}: removed its latch file`),
    );
    return 0;
  } finally {
    lock?.release();
  }
}

function releaseText(latch: HaltLatchState | null | undefined, done: string): string {
  if (!latch) return 'no stop was latched: the robot may move\n';
  return `${done}: the stop latched by ${latchText(latch, printable)}; the robot may move again\n`;
}
