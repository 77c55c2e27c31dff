import { parse as parseYaml } from 'yaml';
import type { ActionInfo } from '../../actions/index.ts';
import { type Command, type CommandIO, numberOption, parseCommandArgs, UsageError } from '../../cli-kit/index.ts';
import { API_CLIENT_OPTIONS, daemonApi } from '../api-command.ts';
import { errorText } from '../../util/index.ts';

const HELP = `Usage: auraison-edge action list [-t] [--json] [options]
       auraison-edge action info ACTION [--json] [options]
       auraison-edge action send_goal ACTION TYPE GOAL [-f|--feedback] [--timeout S] [--json] [options]

What \`ros2 action list|info|send_goal\` do, through the running daemon's API: the actions of the robot's graph
as the bridges see it (a node's send_goal service or client) and those served on the daemon's bus (the sim's
/navigate_to_pose).

  action list [-t|--show-types]
      One action a line, sorted; -t adds its type (/navigate_to_pose [nav2_msgs/action/NavigateToPose]).

  action info ACTION
      Its action clients and servers, by node, as ros2 action info prints them.

  action send_goal ACTION TYPE GOAL
      Sends GOAL (YAML, e.g. "{order: 5}") and waits for the result, printing the goal's id, each feedback
      with -f, and the result with its status (SUCCEEDED, ABORTED, CANCELED). Ctrl-C cancels the goal. A goal
      with a position outside motion.geofence.polygon is refused before it is sent; the operator's stop
      (auraison-edge stop) cancels it.
      -f, --feedback   print each feedback
      --timeout S      cancel the goal and fail after S seconds (default 3600)

Options:
  --url URL       the API (default: <data_dir>/run/api.json, else config api.host/api.port)
  --token TOKEN   bearer token (default: $AURAISON_EDGE_API_TOKEN, else config api.token)
  --config FILE   the daemon's config (default: $AURAISON_EDGE_CONFIG, else the embedded default)
  --json          list/info: {actions: [{name, types, servers, clients, on_bus}]}; send_goal: one JSON
                  object a line ({goal_id, accepted}, {feedback}, {goal_id, state, result, reason})

Exit codes: 0 listed, or the goal succeeded; 1 no daemon answered, the action is unknown, or the goal was
rejected, aborted or canceled; 2 bad usage.
`;

export const command: Command = {
  name: 'action',
  summary: 'List actions, show one, or send a goal and wait for its result (as ros2 action)',
  help: HELP,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === 'list') return list(rest, io);
    if (sub === 'info') return info(rest, io);
    if (sub === 'send_goal') return sendGoal(rest, io);
    throw new UsageError(
      sub === undefined
        ? 'action: give list, info or send_goal'
        : `action: unknown subcommand ${sub} (list, info, send_goal)`,
    );
  },
};

async function actions(
  command: string,
  values: Record<string, unknown>,
  io: CommandIO,
): Promise<ActionInfo[] | undefined> {
  const api = await daemonApi(command, values, io);
  if (!api) return undefined;
  try {
    return (await api.client.get<{ actions: ActionInfo[] }>('/actions')).actions;
  } catch (error) {
    api.report(error);
    return undefined;
  }
}

async function list(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    'show-types': { type: 'boolean', short: 't' },
    ...API_CLIENT_OPTIONS,
  });
  const found = await actions('action list', values, io);
  if (!found) return 1;
  if (values.json) io.stdout(`${JSON.stringify({ actions: found })}\n`);
  else
    for (const a of found)
      io.stdout(`${a.name}${values['show-types'] ? ` [${a.types.join(', ') || 'type unknown'}]` : ''}\n`);
  return 0;
}

async function info(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    { ...API_CLIENT_OPTIONS },
    { min: 1, max: 1, names: 'ACTION' },
  );
  const name = positionals[0]!;
  const found = await actions('action info', values, io);
  if (!found) return 1;
  const action = found.find((a) => a.name === name);
  if (!action) {
    io.stderr(`auraison-edge action info: no action ${name} in the graph or on the bus (action list shows them)\n`);
    return 1;
  }
  if (values.json) {
    io.stdout(`${JSON.stringify(action)}\n`);
    return 0;
  }
  const nodes = (list: ActionInfo['servers']) => list.map((e) => `    ${e.node}  (${e.source})\n`).join('');
  io.stdout(
    `Action: ${action.name}\n` +
      `Type: ${action.types.join(', ') || 'unknown'}\n` +
      `Action clients: ${action.clients.length}\n${nodes(action.clients)}` +
      `Action servers: ${action.servers.length}\n${nodes(action.servers)}`,
  );
  return 0;
}

async function sendGoal(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    { feedback: { type: 'boolean', short: 'f' }, timeout: { type: 'string' }, ...API_CLIENT_OPTIONS },
    { min: 3, max: 3, names: 'ACTION TYPE GOAL, e.g. /fibonacci test_msgs/action/Fibonacci "{order: 5}"' },
  );
  const [name, type, text] = positionals as [string, string, string];
  if (!name.startsWith('/')) throw new UsageError(`action send_goal: ACTION must start with /, got ${name}`);
  if (!/^[A-Za-z0-9_]+\/action\/[A-Za-z0-9_]+$/.test(type))
    throw new UsageError(`action send_goal: TYPE must be pkg/action/Name, got ${type}`);
  let goal: unknown;
  try {
    goal = parseYaml(text);
  } catch (error) {
    throw new UsageError(`action send_goal: GOAL is not YAML: ${errorText(error)}`);
  }
  goal ??= {};
  if (typeof goal !== 'object' || Array.isArray(goal))
    throw new UsageError('action send_goal: GOAL must be a mapping, e.g. "{order: 5}"');
  const timeoutS = values.timeout === undefined ? 3600 : numberOption('--timeout', values.timeout, { min: 0.001 });
  const api = await daemonApi('action send_goal', values, io);
  if (!api) return 1;
  // Ctrl-C cancels the goal: the daemon cancels a goal whose request goes away.
  const interrupt = new AbortController();
  const onSignal = () => interrupt.abort();
  process.once('SIGINT', onSignal);
  let final: { state?: string; result?: unknown; reason?: string; accepted?: boolean } | undefined;
  try {
    await api.client.postLines(
      '/actions/goal',
      { name, type, goal, feedback: values.feedback === true, timeout_s: timeoutS },
      (line) => {
        const value = line as { goal_id?: string; accepted?: boolean; feedback?: unknown; state?: string };
        if (values.json) io.stdout(`${JSON.stringify(value)}\n`);
        if (value.state !== undefined || value.accepted === false) final = value;
        if (values.json) return;
        if (value.accepted === true)
          io.stdout(`Sending goal:\n${indent(goal)}\nGoal accepted with ID: ${value.goal_id}\n\n`);
        else if (value.feedback !== undefined) io.stdout(`Feedback:\n${indent(value.feedback)}\n\n`);
      },
      { signal: interrupt.signal },
    );
  } catch (error) {
    api.report(error);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
  }
  if (interrupt.signal.aborted) {
    io.stderr('auraison-edge action send_goal: interrupted: the goal is cancelled\n');
    return 1;
  }
  if (final === undefined) {
    io.stderr("auraison-edge action send_goal: the daemon ended the answer without the goal's result\n");
    return 1;
  }
  if (final.accepted === false) {
    if (!values.json) io.stdout('Goal was rejected.\n');
    return 1;
  }
  if (!values.json)
    io.stdout(
      `Result:\n${indent(final.result ?? {})}\n\nGoal finished with status: ${String(final.state).toUpperCase()}` +
        `${final.reason ? ` (${final.reason})` : ''}\n`,
    );
  return final.state === 'succeeded' ? 0 : 1;
}

function indent(value: unknown): string {
  return JSON.stringify(value, null, 2)
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
