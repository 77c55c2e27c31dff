import { didYouMean } from '../../config/did-you-mean.ts';
import { numberOption, parseCommandArgs } from '../args.ts';
import { UsageError, type Command, type CommandIO } from '../command.ts';

const HELP = `Usage: auraison-edge topic list [-t] [--json] [options]
       auraison-edge topic echo TOPIC [--once | --count N] [--json] [--field PATH] [--no-arr] [--timeout S] [options]
       auraison-edge topic hz TOPIC [--window N] [--duration S] [options]

What \`ros2 topic list|echo|hz\` do, on the bus of a running daemon. They are clients of the daemon's
Foxglove WebSocket server (component foxglove, on by default), which advertises each bus topic with its
ros2msg schema and streams its messages as CDR; a topic foxglove.topics leaves out, or whose type has no
message definition, is not advertised. The server is found as \`auraison-edge status\` finds the daemon: its
API (GET /status) says where the server listens; else the status file; else foxglove.host/foxglove.port.

  topic list [-t|--show-types] [--json]
      The topics the server advertises, one a line, sorted; -t adds each one's type (/odom
      [nav_msgs/msg/Odometry]). Bus topics the server does not advertise are named on stderr. --json
      prints {url, topics: [{topic, type}], not_advertised: [{topic, type}]}. (\`auraison-edge status\`
      shows every bus topic with its count, rate and drops.)

  topic echo TOPIC [--once | --count N] [--json] [--field PATH] [--no-arr] [--no-str]
                   [--full-length | --truncate-length N] [--timeout S]
      Each message decoded, as a YAML document followed by \`---\`, as \`ros2 topic echo\` prints it. Arrays
      and strings longer than 128 are cut after 128, with a comment saying how long they are (a 360-beam
      /scan, a /map); --full-length prints them whole. /auraison/events (the daemon's journal, JSON) can be
      echoed too. A TOPIC without a leading slash is taken from the root (odom: /odom). Ends on Ctrl-C
      (exit 0), after --count messages, or when the daemon closes the connection (exit 1).
      --once              print one message and exit (--count 1)
      --count N           print N messages and exit
      --json              one JSON object a line instead, arrays whole; int64 values as decimal strings,
                          NaN and infinities as the strings "NaN", "Infinity", "-Infinity"
      --field PATH        print only this field: pose.pose.position, header.frame_id, ranges[0]
      --no-arr            arrays as '<sequence type: float, length: 360>'
      --no-str            strings as '<string length: <12>>'
      -f, --full-length   print arrays and strings whole
      -l, --truncate-length N  cut arrays and strings after N (default 128)
      --timeout S         exit 1 when no message is printed for S seconds (the first, or the next one;
                          a message that does not decode, or lacks --field's index, is skipped); default:
                          wait forever

  topic hz TOPIC [--window N] [--duration S]
      The topic's rate, from when its messages arrive here, every second as \`ros2 topic hz\` prints it:
        average rate: 30.012
        	min: 0.031s max: 0.035s std dev: 0.00071s window: 31
      (\`no new messages\` when none came in that second). Ends on Ctrl-C, or after --duration, with a last
      figure and a line \`N message(s) on TOPIC in S s\`.
      -w, --window N      take the figures over the latest N intervals (default 10000)
      --duration S        stop after S seconds (exit 0; exit 1 when no message came at all)

Options:
  --url URL            the Foxglove server (ws://HOST:PORT), or the daemon's API (http://HOST:PORT)
                       that says where it is (default: <data_dir>/run/api.json, else config api.host/api.port)
  --token TOKEN        the API's bearer token (default: $AURAISON_EDGE_API_TOKEN, else config api.token);
                       the Foxglove server itself takes none
  --config FILE        the daemon's config (default: $AURAISON_EDGE_CONFIG, else the embedded default)
  --connect-timeout S  how long the server has to answer the connection (default 5)

Exit codes: 0 done (or Ctrl-C), 1 no daemon or no Foxglove server, no such topic, --timeout passed, or the
daemon closed the connection, 2 bad usage (also a --field the topic's type does not have).
`;

const SUBCOMMANDS = ['list', 'echo', 'hz'];

const TARGET_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  config: { type: 'string' },
  'connect-timeout': { type: 'string' },
} as const;

export const command: Command = {
  name: 'topic',
  summary: 'List, echo and measure the rate of the running daemon\'s bus topics (as ros2 topic list|echo|hz)',
  help: HELP,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === 'list') return list(rest, io);
    if (sub === 'echo') return echoCommand(rest, io);
    if (sub === 'hz') return hzCommand(rest, io);
    const guess = sub === undefined ? undefined : didYouMean(sub, SUBCOMMANDS);
    throw new UsageError(
      sub === undefined ? 'missing subcommand: list, echo or hz' : `unknown subcommand "${sub}"${guess ? ` (did you mean "${guess}"?)` : ''}: expected list, echo or hz`,
    );
  },
};

function targetOptions(values: { url?: string; token?: string; config?: string; 'connect-timeout'?: string }) {
  const connectTimeoutS = numberOption('connect-timeout', values['connect-timeout'], { min: 0, exclusiveMin: true }) ?? 5;
  return { url: values.url, token: values.token, config: values.config, connectTimeoutS };
}

async function list(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseCommandArgs(argv, { ...TARGET_OPTIONS, 'show-types': { type: 'boolean', short: 't' }, json: { type: 'boolean' } });
  const target = targetOptions(values);
  const { openSession, busChannels } = await import('../topic-session.ts');
  const session = await openSession('list', target, io);
  if (typeof session === 'number') return session;
  const channels = busChannels(session.conn);
  session.conn.close();
  const advertised = new Set(channels.map((c) => c.topic));
  const hidden = (session.target.status?.topics ?? []).filter((t) => !advertised.has(t.topic));
  if (values.json) {
    io.stdout(`${JSON.stringify({ url: session.conn.url, topics: channels.map((c) => ({ topic: c.topic, type: c.schemaName })), not_advertised: hidden.map((t) => ({ topic: t.topic, type: t.type })) })}\n`);
    return 0;
  }
  io.stdout(channels.map((c) => `${c.topic}${values['show-types'] ? ` [${c.schemaName}]` : ''}\n`).join(''));
  if (hidden.length > 0) {
    io.stderr(`not advertised by the Foxglove server (foxglove.topics leaves them out, or their type has no definition): ${hidden.map((t) => t.topic).join(', ')}\n`);
  }
  return 0;
}

async function echoCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      ...TARGET_OPTIONS,
      once: { type: 'boolean' },
      count: { type: 'string' },
      json: { type: 'boolean' },
      field: { type: 'string' },
      'no-arr': { type: 'boolean' },
      'no-str': { type: 'boolean' },
      'full-length': { type: 'boolean', short: 'f' },
      'truncate-length': { type: 'string', short: 'l' },
      timeout: { type: 'string' },
    },
    { min: 1, max: 1, names: 'TOPIC' },
  );
  const count = numberOption('count', values.count, { min: 1, integer: true });
  if (values.once && count !== undefined && count !== 1) throw new UsageError(`--once prints one message; --count ${count} asks for ${count}: give one of them`);
  const truncateLength = numberOption('truncate-length', values['truncate-length'], { min: 1, integer: true });
  if (values['full-length'] && truncateLength !== undefined) throw new UsageError('--full-length prints arrays and strings whole; --truncate-length cuts them: give one of them');
  const timeoutS = numberOption('timeout', values.timeout, { min: 0, exclusiveMin: true });
  const topic = topicName(positionals[0]!);
  const target = targetOptions(values);
  const { parseFieldPath } = await import('../topic-field.ts');
  const steps = values.field === undefined ? undefined : parseFieldPath(values.field);
  if (values.field !== undefined && !steps) throw new UsageError(`--field: expected a path of field names such as pose.pose.position or ranges[0], got ${JSON.stringify(values.field)}`);
  const { openSession } = await import('../topic-session.ts');
  const { echo } = await import('../topic-echo.ts');
  const session = await openSession('echo', target, io);
  if (typeof session === 'number') return session;
  return echo(
    session,
    topic,
    {
      count: values.once ? 1 : count,
      json: values.json === true,
      field: steps && { text: values.field!, steps },
      noArr: values['no-arr'] === true,
      noStr: values['no-str'] === true,
      truncate: values['full-length'] ? undefined : (truncateLength ?? 128),
      timeoutS,
    },
    io,
  );
}

async function hzCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    { ...TARGET_OPTIONS, window: { type: 'string', short: 'w' }, duration: { type: 'string' } },
    { min: 1, max: 1, names: 'TOPIC' },
  );
  const window = numberOption('window', values.window, { min: 1, integer: true }) ?? 10_000;
  const durationS = numberOption('duration', values.duration, { min: 0, exclusiveMin: true });
  const topic = topicName(positionals[0]!);
  const target = targetOptions(values);
  const { openSession } = await import('../topic-session.ts');
  const { hz } = await import('../topic-hz.ts');
  const session = await openSession('hz', target, io);
  if (typeof session === 'number') return session;
  return hz(session, topic, { window, durationS }, io);
}

/** A topic as ROS 2 names it; `odom` is taken as `/odom`, as ros2 topic takes a relative name in the root namespace. */
function topicName(text: string): string {
  if (text.trim() === '' || /\s/.test(text)) throw new UsageError(`TOPIC: expected a topic name such as /odom, got ${JSON.stringify(text)}`);
  return text.startsWith('/') ? text : `/${text}`;
}
