/**
 * The broker's authorization for a fleet, as a mosquitto `acl_file`: each robot's login may write only its own
 * up topics and read only its own command topics; central's login reads every robot's up topics and writes
 * every robot's command topics. One file serves the whole fleet through `%u` patterns, so the convention it
 * needs is that a robot's MQTT username is its robot id (docs/central-link.md, "Broker ACL and threat model").
 *
 * Each robot also has a stop login, `<robot id>/intents` (central-link/topics.ts's stopLogin), that reads its intents
 * topic and nothing else: its stop connection's (central-link/halt-connection.ts).
 *
 * The topic layout is central-link/topics.ts's: up `events, heartbeat, status, acks, uploads` (acks also on
 * the response topics central names under `acks/`), down `intents, config, grants, resend` (grants carries
 * `stored`, `not_wanted` and pause as well).
 */

/** What a robot publishes: acks/# also covers `acks` itself, and the response topics `central intent` names. */
export const ROBOT_WRITES = ['events', 'heartbeat', 'status', 'uploads', 'acks/#'] as const;
/** What central sends a robot. */
export const ROBOT_READS = ['intents', 'config', 'grants', 'resend'] as const;

export interface BrokerAclOptions {
  /** central.yaml's mqtt.topic_prefix (the robots' central.topic_prefix). */
  prefix: string;
  /** The fleets this broker carries (robot.fleet). */
  fleets: string[];
  /** Central's MQTT username (central.yaml's mqtt.username). */
  centralUser: string;
}

/** Why a value cannot go into the file as it is, or undefined. */
export function brokerAclProblem({ prefix, fleets, centralUser }: BrokerAclOptions): string | undefined {
  // A level with a wildcard or % would widen a rule; a space or newline would end mosquitto's line early.
  const level = /^[A-Za-z0-9_.-]+$/;
  if (!prefix.split('/').every((l) => level.test(l)))
    return `the topic prefix ${JSON.stringify(prefix)} must be levels of [A-Za-z0-9_.-] joined by /`;
  if (fleets.length === 0) return 'no fleet: give at least one';
  const bad = fleets.find((f) => !level.test(f));
  if (bad !== undefined) return `the fleet ${JSON.stringify(bad)} must be [A-Za-z0-9_.-]+`;
  if (!/^[^\s%#+]+$/.test(centralUser))
    return `central's username ${JSON.stringify(centralUser)} must be one word without %, # or +`;
  return undefined;
}

/** The acl_file's text (throws on a value brokerAclProblem names). */
export function brokerAcl(options: BrokerAclOptions): string {
  const problem = brokerAclProblem(options);
  if (problem) throw new Error(problem);
  const { prefix, fleets, centralUser } = options;
  const lines = [
    '# mosquitto acl_file for the Auraison Edge central link (auraison-edge central acl).',
    '# A robot logs in with its robot id as its MQTT username; central logs in as ' + centralUser + '.',
    '# Nothing else is allowed: mosquitto denies what no line grants.',
    '',
    `user ${centralUser}`,
  ];
  for (const fleet of fleets) {
    const each = `${prefix}/${fleet}/+`;
    lines.push(...ROBOT_WRITES.map((leaf) => `topic read ${each}/${leaf}`));
    lines.push(...ROBOT_READS.map((leaf) => `topic write ${each}/${leaf}`));
  }
  lines.push(
    '',
    '# Every login, central included (so no robot may be named ' + centralUser + '): its own topics only.',
  );
  for (const fleet of fleets) {
    const own = `${prefix}/${fleet}/%u`;
    lines.push(...ROBOT_WRITES.map((leaf) => `pattern write ${own}/${leaf}`));
    lines.push(...ROBOT_READS.map((leaf) => `pattern read ${own}/${leaf}`));
  }
  lines.push(
    '',
    "# Each robot's stop login, <robot id>/intents with the robot's password, reads that robot's intents topic alone.",
    '# Nothing below an intents topic is read or written, where the lines above would give a stop login topics.',
    '# mosquitto warns at start that the deny line names neither %u nor %c: it is meant for every login.',
  );
  for (const fleet of fleets)
    lines.push(`pattern read ${prefix}/${fleet}/%u`, `pattern deny ${prefix}/${fleet}/+/intents/+/#`);
  return `${lines.join('\n')}\n`;
}

/** Where the generated mosquitto.conf puts each kind of login. */
export interface BrokerConfOptions {
  aclFile: string;
  /** The robots' logins, one per robot id (mosquitto_passwd). */
  passwordFile?: string;
  /** Central's logins alone (central serve, central intent): no robot may log in where central does. */
  centralPasswordFile?: string;
  /** The robots' listener. */
  port?: number;
  /** Central's listener. */
  centralPort?: number;
  /** The address both listen on (empty: every interface). */
  host?: string;
}

/**
 * What the broker queues for a client that falls behind (central busy, a robot away) beyond its in-flight window, as
 * mosquitto.conf lines. Past them it drops that client's messages: a robot's journal keeps every event until central
 * has it, and central asks for what it lacks (events.resend), so the broker need not hold a backlog in memory.
 */
export const BROKER_QUEUE_LIMITS = [
  '# What the broker queues for a client that falls behind, past its in-flight window; beyond it, it drops. The',
  "# robots' journals keep every event until central has it, and central asks them again (events.resend).",
  'max_queued_messages 1000',
  'max_queued_bytes 16777216',
];

/**
 * The mosquitto.conf that puts the file to use, with two listeners (per_listener_settings): the robots', where
 * use_username_as_clientid makes each login's client id its username, so no login can connect under another
 * robot's client id and knock it off the broker (or clear its session); and central's, whose password file holds
 * central's logins alone, so its processes (several serve processes, `central intent`) keep client ids of their
 * own and no robot's login gets in there. Both read the same acl_file. The log types take in debug, the only level at
 * which mosquitto logs a publish its ACL denied; the log goes where the broker's own `log_dest` sends it (a second
 * `log_dest file` is an error, and Debian's mosquitto.conf has one). No comment shares a line with a value:
 * mosquitto would read it as part of the value.
 */
export function brokerAclConf(options: BrokerConfOptions): string {
  const {
    aclFile,
    passwordFile = '/etc/mosquitto/passwd',
    centralPasswordFile = '/etc/mosquitto/central.passwd',
    port = 1883,
    centralPort = 1884,
    host = '',
  } = options;
  const listener = (p: number) => `listener ${p}${host === '' ? '' : ` ${host}`}`;
  return [
    'per_listener_settings true',
    '',
    ...BROKER_QUEUE_LIMITS,
    '',
    "# PUBACKs go out at once: with Nagle's algorithm on, the broker holds a PUBACK while its previous small packet",
    "# waits for the client's delayed ACK (40 ms), and a robot's outbox waits on that PUBACK to send more.",
    'set_tcp_nodelay true',
    '',
    "# The robots' listener: a login's client id is its username (its robot id, or <robot id>/intents: its stops).",
    listener(port),
    'allow_anonymous false',
    `password_file ${passwordFile}`,
    `acl_file ${aclFile}`,
    'use_username_as_clientid true',
    '',
    "# Central's listener: central's logins only (central serve, central intent, central config push).",
    listener(centralPort),
    'allow_anonymous false',
    `password_file ${centralPasswordFile}`,
    `acl_file ${aclFile}`,
    '',
    "# The log (where log_dest sends it: Debian's is /var/log/mosquitto/mosquitto.log). A publish the ACL denies",
    '# is logged at debug alone: "Denied PUBLISH from <client id> (d0, q1, r0, m1, \'<topic>\', ... (N bytes))".',
    "# On the robots' listener the client id is the login, so each line names who tried. debug logs every packet",
    '# besides (a few lines a message): rotate the file (logrotate), or take the line out on a busy broker.',
    ...['error', 'warning', 'notice', 'information', 'debug'].map((type) => `log_type ${type}`),
    '', // a text file's last line ends with a newline (`cat >>` and POSIX tools expect it)
  ].join('\n');
}
