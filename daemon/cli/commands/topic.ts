import { DEFAULT_SCOPE, resolveName } from '../../names/index.ts';
import { didYouMean } from '../../util/index.ts';
import {
  type Command,
  type CommandIO,
  MAX_TIMEOUT_OPTION_S,
  numberOption,
  parseCommandArgs,
  UsageError,
} from '../../cli-kit/index.ts';

const HELP = `Usage: auraison-edge topic list [-t] [-v] [--json] [options]
       auraison-edge topic echo TOPIC [--once | --count N] [--json] [--field PATH] [--no-arr] [--timeout S] [--no-reconnect] [options]
       auraison-edge topic hz TOPIC [--window N] [--duration S] [--no-reconnect] [options]
       auraison-edge topic info TOPIC [--verbose] [--json] [options]
       auraison-edge topic pub TOPIC TYPE [VALUES] [--once | --times N] [--rate HZ] [--keep-alive S] [options]

What \`ros2 topic list|echo|hz|info|pub\` do, on the bus of a running daemon. list, echo, hz and pub are
clients of the daemon's Foxglove WebSocket server (component foxglove, on by default), which advertises each
bus topic with its ros2msg schema and streams its messages as CDR; a topic foxglove.topics leaves out, or
whose type has no message definition, is not advertised. The server is found as \`auraison-edge status\`
finds the daemon: its API (GET /status) says where the server listens; else the status file; else
foxglove.host/foxglove.port. info reads the daemon's status itself.

  topic list [-t|--show-types] [--json]
      The topics the server advertises, one a line, sorted; -t adds each one's type (/odom
      [nav_msgs/msg/Odometry]). Bus topics the server does not advertise are named on stderr. --json
      prints {url, topics: [{topic, type}], not_advertised: [{topic, type}]}. (\`auraison-edge status\`
      shows every bus topic with its count, rate and drops.)
      -v, --verbose   as \`ros2 topic list -v\`: "Published topics:" and "Subscribed topics:", each topic
                      with its type and its count of publishers or subscribers in the robot's graph as the
                      bridges (zenoh, ros) see it, the daemon's own node included; bus topics no bridge
                      reports are counted by their bus publishers and subscribers.

  topic echo TOPIC [--once | --count N] [--json] [--field PATH] [--no-arr] [--no-str]
                   [--full-length | --truncate-length N] [--timeout S]
      Each message decoded, as a YAML document followed by \`---\`, as \`ros2 topic echo\` prints it. Arrays
      and strings longer than 128 are cut after 128, with a comment saying how long they are (a 360-beam
      /scan, a /map); --full-length prints them whole. /auraison/events (the daemon's journal, JSON) can be
      echoed too. A TOPIC without a leading slash is taken from the root (odom: /odom). Ends on Ctrl-C
      (exit 0) or after --count messages. When the daemon goes away (a restart, a reload that restarts
      its Foxglove server), it says so on stderr, looks for it again every second (its ports may change)
      and goes on once the topic is advertised again, as ros2 topic echo waits for a publisher.
      --no-reconnect      exit 1 when the daemon closes the connection instead
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
      figure and a line \`N message(s) on TOPIC in S s\`. Reconnects as echo does (the time without the
      daemon is not an interval).
      --no-reconnect      exit 1 when the daemon closes the connection instead
      -w, --window N      take the figures over the latest N intervals (default 10000)
      --duration S        stop after S seconds (exit 0; exit 1 when no message came at all)

  topic info TOPIC [--verbose] [--json]
      The topic's type and its publisher and subscription counts, as \`ros2 topic info\` prints them:
        Type: nav_msgs/msg/Odometry
        Publisher count: 1
        Subscription count: 2
      From the daemon's GET /status (else its status file; --url takes only its API, http://HOST:PORT).
      -v, --verbose       also the topic's message count, rate and drops, and each subscriber: its name
                          (recorder, foxglove, control:<loop>, ...), queue policy and depth, and its
                          received, delivered, dropped, queued and errors counts
      --json              one JSON object: {topic, type, publisher_count, subscription_count, subscribers,
                          count, bytes, rate_hz, drops}

  topic pub TOPIC TYPE [VALUES] [--once | --times N] [--rate HZ] [--keep-alive S] [--json-values]
      Publishes the message VALUES make, as \`ros2 topic pub\` does: YAML of the fields to set
      ('{linear: {x: 0.1}, angular: {z: 0.5}}'); a field left out is 0, false, '' or empty; a
      builtin_interfaces/Time given as now is the time of each message, a std_msgs/Header given as auto is
      stamped now. A field TYPE does not have, a value of the wrong kind or bad YAML exits 2. It goes
      through the daemon's client publishing, so the daemon must allow it (foxglove.client_publish.enabled,
      with TOPIC in foxglove.client_publish.topics) and an agent must run: every message goes through its
      policy hooks as the agent's publish tool call does (motion.velocity clamps or refuses a Twist; access
      rules refuse). A refusal is told in the daemon's words with what to change, and exits 1; a message
      the policy changed is told with the fields it changed (\`#1 reached /cmd_vel changed by the daemon's
      policy: linear.x: 2.0 -> 0.5\`). A TYPE other than the topic's is refused before anything is sent.
      Publishes at 1 Hz until Ctrl-C, printing each message as ros2 does (publishing #1: ...). The daemon
      stops the robot (a zero Twist) when a client whose last Twist moved it leaves, and when it sends none
      for foxglove.client_publish.stop_after_ms (2000 by default: publish faster than 0.5 Hz).
      -1, --once          publish one message, wait for what became of it, and exit
      -t, --times N       publish N messages and exit
      -r, --rate HZ       messages a second (default 1)
      --keep-alive S      stay connected S seconds after the last message (default 0)
      --json-values       VALUES is JSON, not YAML
      -p, --print N       print every Nth message published (default 1; 0: none)
      --feedback-timeout S  how long a message the server has read may take to reach TOPIC or be refused
                          (default 5; a policy hook that waits for a person's approval takes longer)

Options:
  --url URL            the Foxglove server (ws://HOST:PORT), or the daemon's API (http://HOST:PORT)
                       that says where it is (default: <data_dir>/run/api.json, else config api.host/api.port)
  --token TOKEN        the API's bearer token (default: $AURAISON_EDGE_API_TOKEN, else config api.token);
                       the Foxglove server itself takes none
  --config FILE        the daemon's config (default: $AURAISON_EDGE_CONFIG, else the embedded default)
  --connect-timeout S  how long the server has to answer the connection (default 5; not for info)

Exit codes: 0 done (or Ctrl-C), 1 no daemon or no Foxglove server, no such topic, --timeout passed, the
daemon closed the connection (echo and hz: with --no-reconnect; pub: always), a message refused (or no
word on it within --feedback-timeout), an unknown TYPE or one other than the topic's, 2 bad usage (also a
--field the topic's type does not have; VALUES that are not YAML, or name a field TYPE does not have).
`;

const SUBCOMMANDS = ['list', 'echo', 'hz', 'info', 'pub'];

const TARGET_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  config: { type: 'string' },
  'connect-timeout': { type: 'string' },
} as const;

export const command: Command = {
  name: 'topic',
  summary:
    "List, echo, measure, describe and publish on the running daemon's bus topics (as ros2 topic list|echo|hz|info|pub)",
  help: HELP,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === 'list') return list(rest, io);
    if (sub === 'echo') return echoCommand(rest, io);
    if (sub === 'hz') return hzCommand(rest, io);
    if (sub === 'info') return infoCommand(rest, io);
    if (sub === 'pub') return pubCommand(rest, io);
    const guess = sub === undefined ? undefined : didYouMean(sub, SUBCOMMANDS);
    const expected = 'list, echo, hz, info or pub';
    throw new UsageError(
      sub === undefined
        ? `missing subcommand: ${expected}`
        : `unknown subcommand "${sub}"${guess ? ` (did you mean "${guess}"?)` : ''}: expected ${expected}`,
    );
  },
};

function targetOptions(values: { url?: string; token?: string; config?: string; 'connect-timeout'?: string }) {
  const connectTimeoutS =
    numberOption('connect-timeout', values['connect-timeout'], {
      min: 0,
      exclusiveMin: true,
      max: MAX_TIMEOUT_OPTION_S,
    }) ?? 5;
  return { url: values.url, token: values.token, config: values.config, connectTimeoutS };
}

async function list(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    ...TARGET_OPTIONS,
    'show-types': { type: 'boolean', short: 't' },
    verbose: { type: 'boolean', short: 'v' },
    json: { type: 'boolean' },
  });
  const target = targetOptions(values);
  const { openSession, busChannels } = await import('../topic-session.ts');
  const session = await openSession('list', target, io);
  if (typeof session === 'number') return session;
  if (values.verbose && !values.json) {
    session.conn.close();
    const status = session.target.status;
    if (status === undefined)
      throw new UsageError("topic list -v reads the daemon's status, which a --url target does not give");
    const { formatVerboseTopics } = await import('../topic-graph.ts');
    io.stdout(formatVerboseTopics(status));
    return 0;
  }
  const channels = busChannels(session.conn);
  session.conn.close();
  const advertised = new Set(channels.map((c) => c.topic));
  const hidden = (session.target.status?.topics ?? []).filter((t) => !advertised.has(t.topic));
  if (values.json) {
    io.stdout(
      `${JSON.stringify({ url: session.conn.url, topics: channels.map((c) => ({ topic: c.topic, type: c.schemaName })), not_advertised: hidden.map((t) => ({ topic: t.topic, type: t.type })) })}\n`,
    );
    return 0;
  }
  io.stdout(channels.map((c) => `${c.topic}${values['show-types'] ? ` [${c.schemaName}]` : ''}\n`).join(''));
  if (hidden.length > 0) {
    io.stderr(
      `not advertised by the Foxglove server (foxglove.topics leaves them out, or their type has no definition): ${hidden.map((t) => t.topic).join(', ')}\n`,
    );
  }
  return 0;
}

async function echoCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      ...TARGET_OPTIONS,
      'no-reconnect': { type: 'boolean' },
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
  if (values.once && count !== undefined && count !== 1)
    throw new UsageError(`--once prints one message; --count ${count} asks for ${count}: give one of them`);
  const truncateLength = numberOption('truncate-length', values['truncate-length'], { min: 1, integer: true });
  if (values['full-length'] && truncateLength !== undefined)
    throw new UsageError(
      '--full-length prints arrays and strings whole; --truncate-length cuts them: give one of them',
    );
  const timeoutS = numberOption('timeout', values.timeout, { min: 0, exclusiveMin: true, max: MAX_TIMEOUT_OPTION_S });
  const topic = topicName(positionals[0]!);
  const target = targetOptions(values);
  const { parseFieldPath } = await import('../topic-field.ts');
  const steps = values.field === undefined ? undefined : parseFieldPath(values.field);
  if (values.field !== undefined && !steps)
    throw new UsageError(
      `--field: expected a path of field names such as pose.pose.position or ranges[0], got ${JSON.stringify(values.field)}`,
    );
  const { openSession } = await import('../topic-session.ts');
  const { echo } = await import('../topic-echo.ts');
  const session = await openSession('echo', target, io);
  if (typeof session === 'number') return session;
  const reopen = values['no-reconnect'] ? undefined : reopener(target, io);
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
    reopen,
  );
}

/** Finds the daemon and connects again, saying nothing while it cannot (the follower says it is looking). */
function reopener(target: ReturnType<typeof targetOptions>, io: CommandIO) {
  const quiet: CommandIO = { ...io, stderr: () => {} };
  return async () => {
    const { openSession } = await import('../topic-session.ts');
    const session = await openSession('', target, quiet);
    return typeof session === 'number' ? undefined : session;
  };
}

async function hzCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      ...TARGET_OPTIONS,
      'no-reconnect': { type: 'boolean' },
      window: { type: 'string', short: 'w' },
      duration: { type: 'string' },
    },
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
  return hz(session, topic, { window, durationS }, io, values['no-reconnect'] ? undefined : reopener(target, io));
}

async function infoCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      url: TARGET_OPTIONS.url,
      token: TARGET_OPTIONS.token,
      config: TARGET_OPTIONS.config,
      verbose: { type: 'boolean', short: 'v' },
      json: { type: 'boolean' },
    },
    { min: 1, max: 1, names: 'TOPIC' },
  );
  const topic = topicName(positionals[0]!);
  const { info } = await import('../topic-info.ts');
  return info(
    topic,
    { url: values.url, token: values.token, config: values.config },
    { verbose: values.verbose === true, json: values.json === true },
    io,
  );
}

/** A message type as ROS 2 names it: pkg/msg/Name, or pkg/Name. */
const MESSAGE_TYPE = /^[A-Za-z][\w]*\/(msg\/)?[A-Za-z]\w*$/;

async function pubCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      ...TARGET_OPTIONS,
      once: { type: 'boolean', short: '1' },
      times: { type: 'string', short: 't' },
      rate: { type: 'string', short: 'r' },
      'keep-alive': { type: 'string' },
      'json-values': { type: 'boolean' },
      print: { type: 'string', short: 'p' },
      'feedback-timeout': { type: 'string' },
    },
    { min: 2, max: 3, names: 'TOPIC TYPE [VALUES]' },
  );
  const times = numberOption('times', values.times, { min: 1, integer: true });
  if (values.once && times !== undefined && times !== 1)
    throw new UsageError(`--once publishes one message; --times ${times} asks for ${times}: give one of them`);
  const rateHz = numberOption('rate', values.rate, { min: 0, exclusiveMin: true }) ?? 1;
  const keepAliveS = numberOption('keep-alive', values['keep-alive'], { min: 0 }) ?? 0;
  const printEvery = numberOption('print', values.print, { min: 0, integer: true }) ?? 1;
  const feedbackTimeoutS =
    numberOption('feedback-timeout', values['feedback-timeout'], {
      min: 0,
      exclusiveMin: true,
      max: MAX_TIMEOUT_OPTION_S,
    }) ?? 5;
  const topic = topicName(positionals[0]!);
  const typeText = positionals[1]!;
  if (!MESSAGE_TYPE.test(typeText))
    throw new UsageError(
      `TYPE: expected a message type such as geometry_msgs/msg/Twist, got ${JSON.stringify(typeText)}`,
    );
  const { canonicalType } = await import('../../bus/index.ts');
  const type = canonicalType(typeText);
  const { parseValues } = await import('../topic-values.ts');
  const parsed = parseValues(positionals[2] ?? '{}', values['json-values'] === true);
  if ('error' in parsed) throw new UsageError(parsed.error);
  const { pub, resolveTemplate } = await import('../topic-pub.ts');
  // A field TYPE does not have is bad usage wherever the daemon is: checked against this CLI's own
  // definition first (the daemon's, which the server sends, is checked again before anything is sent).
  const local = resolveTemplate(type, undefined);
  if (!('error' in local)) {
    const { nowNs } = await import('../../util/index.ts');
    const built = local.build(parsed.value, nowNs());
    if ('error' in built) throw new UsageError(`VALUES: ${built.error}`);
  }
  const { openSession } = await import('../topic-session.ts');
  const session = await openSession('pub', targetOptions(values), io);
  if (typeof session === 'number') return session;
  return pub(
    session,
    topic,
    type,
    parsed.value,
    { times: values.once ? 1 : times, rateHz, keepAliveS, feedbackTimeoutS, printEvery },
    io,
  );
}

/**
 * A topic as ROS 2 names it, fully qualified: `odom` is taken as `/odom`, as ros2 topic takes a relative name in the
 * root namespace (`~/x` as the daemon's node's, with the config's defaults).
 */
function topicName(text: string): string {
  const named = resolveName(text, DEFAULT_SCOPE);
  if (!named.ok) throw new UsageError(`TOPIC: ${JSON.stringify(text)} is not a ROS 2 topic name: it ${named.rule}`);
  return named.name;
}
