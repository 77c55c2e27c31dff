import { randomBytes } from 'node:crypto';
import type { IClientOptions, IConnackPacket, MqttClient } from 'mqtt';
import { MAX_TIMEOUT_OPTION_S, numberOption, parseCommandArgs } from '../args.ts';
import { UsageError, type Command, type CommandIO } from '../command.ts';
import { resolveConfig } from '../config-option.ts';
import { redactUrl } from '../../util/index.ts';
import { loadCentralLink, loadVllm } from '../../components/index.ts';
import { brokerUrlProblem, type CentralSettings } from '../../config/index.ts';
import { nowNs } from '../../contract/index.ts';
import { formatAuthority, probeAuthority, type AuthorityProbe } from '../central-check-authority.ts';

/** The operator's commands (daemon/cli/central-*.ts), each loaded on use: `central check` needs none of them. */
const OPERATOR_COMMANDS: Record<string, (argv: string[], io: CommandIO) => Promise<number>> = {
  serve: async (argv, io) => (await import('../central-serve.ts')).centralServe(argv, io),
  query: async (argv, io) => (await import('../central-fleet.ts')).centralQuery(argv, io),
  robots: async (argv, io) => (await import('../central-fleet.ts')).centralRobots(argv, io),
  intent: async (argv, io) => (await import('../central-send.ts')).centralIntent(argv, io),
  config: async (argv, io) => (await import('../central-send.ts')).centralConfigPush(argv, io),
  keygen: async (argv, io) => (await import('../central-keygen.ts')).centralKeygen(argv, io),
  acl: async (argv, io) => (await import('../central-acl.ts')).centralAcl(argv, io),
};

const OPERATOR_HELP = `
The operator's commands (on central's host), for the reference central (docs/central.md):

central serve: the reference central, a stateless process: events from every robot of the fleet into the
fleet lakehouse (DuckLake), grants for uploads, the fleet page and its API (central.yaml's http section).
Several processes with one central.yaml split the fleet (MQTT 5 shared subscriptions).

central query "SQL": one read-only statement (SELECT, WITH, DESCRIBE, SHOW, SUMMARIZE) over the whole
fleet's lakehouse, through \`central serve\`'s HTTP API. Tables: events (robot, journal_id, seq, ts_ns,
kind, data), bags, and each table the robots upload (topic_odom for /odom), with a robot column.
--json prints {columns, rows}, --csv CSV.

central robots: each robot as central knows it: online or offline (with why), last heartbeat, journal
backlog, sync progress, its status page; and the uploads central handled.

central intent: publishes an intent on the robot's intents topic (QoS 1) with an MQTT 5 response topic,
prints each ack as it comes (accepted, replayed, pending, refused), then the run's states from the robot's
events until it ends or waits for approval. Its options are the daemon's \`intent\` command's
(--params, --text, --validators, --approval, --actor).

central keygen --out FILE: central's command signing key (Ed25519): the private key to FILE (mqtt.command_key
in central.yaml, or --command-key), the public key printed for each robot's central.command_keys.

central acl: the broker's mosquitto acl_file for the fleet, to stdout or --out FILE (then with the
mosquitto.conf lines that use it): each robot's login (MQTT username = its robot id) may publish only on its
own up topics and read only its own command topics; central's login (--central-user, else central.yaml's
mqtt.username) reads every robot's up topics and writes their command topics. --fleet may be repeated.

central config push: publishes FILE (YAML: the config keys to lay over the robot's config file) on the
robot's config topic as {config_id, config}, and prints the robot's ack: applied (with the components that
restarted), duplicate, refused (with each key path) or failed.

Options of the operator's commands:
  --url URL          central serve's HTTP API (default: --config's http section, else $AURAISON_CENTRAL_URL,
                     else http://127.0.0.1:8790)
  --config FILE      central.yaml (default: $AURAISON_CENTRAL_CONFIG): its http section (query, robots) or
                     its mqtt section (intent, config push: broker, credentials, TLS files, fleet, prefix)
  --robot R          the robot (its robot.id)
  --broker URL       the MQTT broker, over central.yaml's mqtt.url
  --fleet F          the fleet, over central.yaml's mqtt.fleet (default: default)
  --command-key FILE intent, config push: sign with this key (over central.yaml's mqtt.command_key)
  --timeout-s N      intent, config push: how long to wait for the acks and the run (default 300)
  --json             JSON: one object (query, robots), or JSON lines (intent, config push)

Exit codes: 0 done (intent: the run succeeded or waits for approval; config push: applied or duplicate),
1 failed, refused, or central serve or the broker not reachable, 2 bad usage.
`;

export const command: Command = {
  name: 'central',
  summary: 'Central: check the link, query the fleet, list robots, send intents and configs to robots',
  help: `Usage: auraison-edge central check [--url URL] [--config FILE] [--timeout-s N] [--json]
       auraison-edge central serve --config central.yaml [--token-file FILE] [--command-key FILE]
       auraison-edge central query "SQL" [--json | --csv] [--url URL | --config central.yaml]
       auraison-edge central robots [--json] [--url URL | --config central.yaml]
       auraison-edge central intent --robot R SKILL [--params JSON] [--timeout-s N] [--json]
                                    [--config central.yaml | --broker URL --fleet F]
       auraison-edge central intent --robot R --text "go to the dock" [...]
       auraison-edge central config push --robot R FILE [--id ID] [--timeout-s N] [--json]
                                         [--config central.yaml | --broker URL --fleet F]
       auraison-edge central keygen --out FILE [--json]
       auraison-edge central acl [--config central.yaml] [--fleet F]... [--prefix P] [--central-user U]
                                 [--out FILE]

central check (on a robot):

Connects to the central broker as the daemon would (MQTT 5, with the config's central.username, password,
ca_file, cert_file and key_file), and says how long the CONNACK took and what the broker told it (maximum
packet size, receive maximum, retain, maximum QoS, topic aliases, keep alive). Then it subscribes to the
robot's intents topic and publishes one QoS 1 message (schema auraison.check/1, not retained) on its
heartbeat topic, and says whether the broker granted and acknowledged them (an ACL says no with 0x87).
It says what failed: no broker there, DNS, TLS, credentials refused, no answer in time.

Then it probes the broker's authorization with the robot's login: it publishes (QoS 1, not retained, expiring
in 10 s) on the command topics (intents, config, grants, resend) and the events and status topics of a robot
id no robot has (<robot>.acl-probe-<random>), and subscribes to every robot's status, config and intents.
Each publish the broker takes, and any other robot's message it is sent, is a hole: the check is not ok and
points to \`auraison-edge central acl\` (docs/central-link.md, "Broker ACL and threat model").

It connects as <the daemon's client id>-check-<random>, with a clean start and no session kept: a daemon
running with this config keeps its own session, and the check leaves nothing behind at the broker. A broker
whose ACL is keyed on the client id may treat the check's id differently from the daemon's.

Options:
  --url URL      the broker to check instead of central.url (mqtt://, mqtts://, ws://, wss://); the
                 rest (credentials, TLS files, topics) still comes from the config
  --config FILE  the daemon's config (default: $AURAISON_EDGE_CONFIG, else the embedded default)
  --timeout-s N  each step's limit: CONNACK, SUBACK, PUBACK, DISCONNECT (default: central.connect_timeout_s)
  --json         print one JSON object

Exit codes: 0 every check passed, 1 one failed, 2 bad usage (no broker URL, or not an MQTT one).
${OPERATOR_HELP}`,
  async run(argv, io) {
    const operator = OPERATOR_COMMANDS[argv[0] ?? ''];
    if (operator) return operator(argv.slice(1), io);
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        url: { type: 'string' },
        config: { type: 'string' },
        'timeout-s': { type: 'string' },
        json: { type: 'boolean' },
      },
      { min: 1, max: 1, names: 'check' },
    );
    if (positionals[0] !== 'check')
      throw new UsageError(
        `unknown subcommand ${JSON.stringify(positionals[0])} (${['check', ...Object.keys(OPERATOR_COMMANDS)].join(', ')})`,
      );
    const urlProblem = values.url === undefined ? undefined : brokerUrlProblem(values.url);
    if (urlProblem) throw new UsageError(`--url: ${urlProblem}`);
    const timeoutS = numberOption('timeout-s', values['timeout-s'], {
      min: 0,
      exclusiveMin: true,
      max: MAX_TIMEOUT_OPTION_S,
    });
    const { config, file } = resolveConfig(values.config, io.env);
    const url = values.url ?? config.central.url;
    if (url === '')
      throw new UsageError(
        `no broker to check: give --url, or set central.url in ${file ?? 'the config (--config FILE)'}`,
      );
    // The config checks central.url only while central.enabled is true; a URL being set up is checked here.
    const configProblem = values.url === undefined ? brokerUrlProblem(url) : undefined;
    if (configProblem) throw new UsageError(`central.url: ${configProblem}`);
    const report = await checkCentral({
      central: config.central,
      url,
      robot: config.robot.id,
      fleet: config.robot.fleet,
      timeoutMs: (timeoutS ?? config.central.connect_timeout_s) * 1000,
    });
    io.stdout(values.json ? `${JSON.stringify(report)}\n` : formatCheck(report));
    return report.ok ? 0 : 1;
  },
};

/** A step's outcome: done (with the broker's reason code), failed (with why), or not tried. */
type Outcome =
  | { ok: true; reason_code: number }
  | { ok: false; reason_code?: number; error: string }
  | { ok: false; skipped: string };

/** The CONNACK properties that decide how the central link works with this broker; each only when sent. */
interface BrokerLimits {
  maximum_packet_size?: number;
  receive_maximum?: number;
  retain_available?: boolean;
  maximum_qos?: number;
  topic_alias_maximum?: number;
  server_keep_alive_s?: number;
  session_expiry_interval_s?: number;
}

interface CentralCheck {
  ok: boolean;
  /** The broker, its password shown as ***. */
  url: string;
  client_id: string;
  central_enabled: boolean;
  timeout_s: number;
  connect:
    | { ok: true; connack_ms: number; session_present: boolean; broker: BrokerLimits }
    | { ok: false; reason_code?: number; error: string };
  subscribe: { topic: string } & Outcome;
  publish: { topic: string } & Outcome;
  /** Whether this login may publish or read another robot's topics (central-check-authority.ts); once connected. */
  authority?: AuthorityProbe;
  /** What passed but will bite the daemon (a broker that keeps no retained messages, small packets). */
  notes: string[];
}

interface CheckTarget {
  central: CentralSettings;
  url: string;
  robot: string;
  fleet: string;
  timeoutMs: number;
}

/** What the check publishes for: central may see it on the heartbeat topic, and can tell it from a heartbeat. */
const CHECK_SCHEMA = 'auraison.check/1';

/** `central check`: connect, subscribe to intents, publish once, disconnect; every step within timeoutMs. */
async function checkCentral(target: CheckTarget): Promise<CentralCheck> {
  const { central: s, url, robot, fleet, timeoutMs } = target;
  const { default: mqtt, ReasonCodes } = await import('mqtt');
  const { describeFailure } = await loadVllm();
  const { centralClientId, centralTopics, connackRefusal, readTlsFiles } = await loadCentralLink();
  const reason = (code: number) =>
    `${ReasonCodes[code as keyof typeof ReasonCodes] || 'reason'} (0x${code.toString(16).padStart(2, '0')})`;
  const topics = centralTopics(s.topic_prefix, fleet, robot);
  const clientId = `${centralClientId(s, fleet, robot)}-check-${randomBytes(3).toString('hex')}`;
  const report: CentralCheck = {
    ok: false,
    url: redactUrl(url),
    client_id: clientId,
    central_enabled: s.enabled,
    timeout_s: timeoutMs / 1000,
    connect: { ok: false, error: 'not tried' },
    subscribe: { topic: topics.intents, ok: false, skipped: 'not connected' },
    publish: { topic: topics.heartbeat, ok: false, skipped: 'not connected' },
    notes: s.enabled ? [] : ['central.enabled is false: the daemon does not connect to central until it is true'],
  };
  let tls: Pick<IClientOptions, 'ca' | 'cert' | 'key'>;
  try {
    tls = readTlsFiles(s);
  } catch (error) {
    report.connect = { ok: false, error: (error as Error).message };
    return report;
  }
  const late = (what: string) => `no ${what} within ${timeoutMs / 1000} s`;
  const started = performance.now();
  const client = mqtt.connect(url, {
    protocolVersion: 5,
    clientId,
    // Clean start and no Session Expiry Interval: the session ends with this connection.
    clean: true,
    keepalive: s.keepalive_s,
    // Ours bounds the attempt; mqtt.js's would only say "connack timeout".
    connectTimeout: timeoutMs + 1000,
    reconnectPeriod: 0,
    ...(s.username ? { username: s.username } : {}),
    ...(s.password ? { password: s.password } : {}),
    ...tls,
  });
  // The connection closing mid-check (a broker's DISCONNECT, a dropped socket) explains a step that then fails.
  const watch: { lost?: string } = {};
  const connected = await bounded<{ connack: IConnackPacket } | { error: string; reason_code?: number }>(
    timeoutMs,
    {
      error: `${late('CONNACK')}: the wrong host or port, a firewall dropping packets, or a TLS port reached with mqtt://`,
    },
    (settle) => {
      client.on('connect', (connack) => settle({ connack }));
      client.on('error', (error) => {
        const failure = connectFailure(
          error,
          (code) => ReasonCodes[code as keyof typeof ReasonCodes] || 'reason',
          describeFailure,
          connackRefusal,
        );
        watch.lost ??= failure.error;
        settle(failure);
      });
      client.on(
        'disconnect',
        (packet) => (watch.lost ??= `the broker disconnected: ${reason(packet.reasonCode ?? 0)}`),
      );
      client.on('close', () => {
        watch.lost ??=
          'the broker closed the connection without a word: a TLS port reached with mqtt://, a broker that does not speak MQTT 5, or one that turns this client away silently';
        settle({ error: watch.lost });
      });
    },
  );
  if (!('connack' in connected)) {
    client.end(true);
    report.connect = { ok: false, ...connected };
    return report;
  }
  const { connack } = connected;
  const broker = brokerLimits(connack);
  report.connect = {
    ok: true,
    connack_ms: Math.round((performance.now() - started) * 10) / 10,
    session_present: connack.sessionPresent,
    broker,
  };
  report.notes.push(...limitNotes(broker, s));

  const step = { client, timeoutMs, reason, watch };
  report.subscribe = await subscribeStep(step, topics.intents);
  if (report.subscribe.ok && report.subscribe.reason_code === 0)
    report.notes.push(
      'the broker granted the intents subscription at QoS 0 only: intents may be lost (the link asks for QoS 1)',
    );
  const payload = JSON.stringify({ schema: CHECK_SCHEMA, robot, fleet, client_id: clientId, ts: nowNs().toString() });
  report.publish = await publishStep(step, topics.heartbeat, payload);
  report.authority = await probeAuthority({ client, timeoutMs, prefix: s.topic_prefix, fleet, robot, payload });
  const { lost } = watch;
  for (const done of [report.subscribe, report.publish])
    if (!done.ok && 'error' in done && lost && !done.error.includes(lost)) done.error += ` (${lost})`;

  // A clean DISCONNECT; a broker that does not take it in time is left by closing the socket.
  const closed = await bounded(timeoutMs, false, (settle) => client.end(false, { reasonCode: 0 }, () => settle(true)));
  if (!closed) client.end(true);
  report.ok = report.subscribe.ok && report.publish.ok && report.authority.ok;
  return report;
}

/** What a check step needs: the client, the bound on each step, how a reason code reads, and why the link was lost. */
interface CheckStep {
  client: MqttClient;
  timeoutMs: number;
  reason: (code: number) => string;
  watch: { lost?: string };
}

/** Subscribes to the intents topic as the link does (QoS 1): granted, or refused with the SUBACK's reason. */
function subscribeStep(
  { client, timeoutMs, reason, watch }: CheckStep,
  topic: string,
): Promise<CentralCheck['subscribe']> {
  return bounded<CentralCheck['subscribe']>(
    timeoutMs,
    { topic, ok: false, error: `no SUBACK within ${timeoutMs / 1000} s` },
    (settle) => {
      client.subscribe(topic, { qos: 1 }, (error, _granted, packet) => {
        const code = packet?.granted[0];
        if (typeof code === 'number' && code < 0x80) return settle({ topic, ok: true, reason_code: code });
        if (typeof code !== 'number')
          return settle({ topic, ok: false, error: watch.lost ?? error?.message ?? 'no reason code in the SUBACK' });
        const hint =
          code === 0x87
            ? ": the broker's ACL does not let this robot subscribe to its intents topic, so central cannot send it intents"
            : '';
        settle({ topic, ok: false, reason_code: code, error: `refused: ${reason(code)}${hint}` });
      });
    },
  );
}

/**
 * Publishes one check message on the heartbeat topic (QoS 1): acknowledged, or refused with the PUBACK's
 * reason. A message expiry, so a copy queued for a subscriber that is away (central's session) does not
 * outlive the check.
 */
function publishStep(
  { client, timeoutMs, reason, watch }: CheckStep,
  topic: string,
  payload: string,
): Promise<CentralCheck['publish']> {
  const properties = { contentType: 'application/json', messageExpiryInterval: 60 };
  return bounded<CentralCheck['publish']>(
    timeoutMs,
    { topic, ok: false, error: `no PUBACK within ${timeoutMs / 1000} s` },
    (settle) => {
      client.publish(topic, payload, { qos: 1, retain: false, properties }, (error, packet) => {
        const code =
          (error as { code?: unknown } | undefined)?.code ??
          (packet as { reasonCode?: number } | undefined)?.reasonCode ??
          0;
        if (typeof code !== 'number')
          return settle({ topic, ok: false, error: watch.lost ?? error?.message ?? 'the publish failed' });
        if (code < 0x80) return settle({ topic, ok: true, reason_code: code });
        const hint =
          code === 0x87
            ? ": the broker's ACL does not let this robot publish on its heartbeat topic (it publishes its events, status and acks beside it)"
            : '';
        settle({ topic, ok: false, reason_code: code, error: `refused: ${reason(code)}${hint}` });
      });
    },
  );
}

/** Resolves with what `start` settles with, or with `late` once `ms` have passed: no step waits longer. */
function bounded<T>(ms: number, late: T, start: (settle: (value: T) => void) => void): Promise<T> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(late), ms);
    start((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

/** What to check for a socket or TLS error, by its code. */
function socketHint(code: string): string | undefined {
  if (code === 'ECONNREFUSED') return "is the broker running, and are the URL's host and port its listener's?";
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return "check the host name in the URL, and the robot's DNS";
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ETIMEDOUT')
    return "check the robot's network and its route to the broker";
  if (code === 'ECONNRESET')
    return 'the broker dropped the connection: a plain port reached with mqtts:// (or wss://), or a broker that turns this client away';
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER')
    return "the port does not speak TLS: use mqtt:// (or ws://), or the broker's TLS port";
  if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_/.test(code))
    return "a TLS problem: check central.ca_file (the CA that signed the broker's certificate), the URL's host name against the certificate, and central.cert_file and key_file";
  return undefined;
}

/**
 * A failed connect in words an operator can act on, with the broker's reason code when it refused: the
 * CONNACK's reason, or the socket's (`describe`: refused, DNS, TLS; host and port) and what to check.
 */
function connectFailure(
  error: Error & { code?: unknown; errors?: { code?: unknown }[] },
  reasonName: (code: number) => string,
  describe: (error: unknown) => string,
  connackRefusal: (code: number, name: string) => string,
): { error: string; reason_code?: number } {
  if (typeof error.code === 'number')
    return { error: connackRefusal(error.code, reasonName(error.code)), reason_code: error.code };
  // localhost is tried as ::1 and 127.0.0.1: an AggregateError, its code on each error.
  const code = error.code ?? error.errors?.[0]?.code;
  const hint = typeof code === 'string' ? socketHint(code) : undefined;
  return { error: `${describe(error)}${hint ? `: ${hint}` : ''}` };
}

function brokerLimits(connack: IConnackPacket): BrokerLimits {
  const p = connack.properties ?? {};
  const limits: BrokerLimits = {
    maximum_packet_size: p.maximumPacketSize,
    receive_maximum: p.receiveMaximum,
    retain_available: p.retainAvailable,
    maximum_qos: p.maximumQoS,
    topic_alias_maximum: p.topicAliasMaximum,
    server_keep_alive_s: p.serverKeepAlive,
    session_expiry_interval_s: p.sessionExpiryInterval,
  };
  return Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined));
}

/** What the CONNACK says that the daemon's link will meet: passing checks that will still bite. */
function limitNotes(broker: BrokerLimits, s: CentralSettings): string[] {
  const notes: string[] = [];
  if (broker.retain_available === false)
    notes.push(
      "the broker keeps no retained messages (Retain Available 0), and the link's status and last will are retained: it will refuse them",
    );
  if (broker.maximum_qos === 0)
    notes.push('the broker takes QoS 0 only (Maximum QoS 0), and the link sends events and acks at QoS 1');
  if (broker.maximum_packet_size !== undefined && broker.maximum_packet_size < s.outbox.batch_bytes) {
    notes.push(
      `the broker takes packets up to ${broker.maximum_packet_size} bytes, below central.outbox.batch_bytes (${s.outbox.batch_bytes}): lower batch_bytes so events batches fit`,
    );
  }
  // The outbox keeps 4 of the broker's Receive Maximum for the link's other messages (central-link/outbox.ts).
  const window = broker.receive_maximum === undefined ? undefined : Math.max(1, broker.receive_maximum - 4);
  if (window !== undefined && window < s.outbox.max_inflight)
    notes.push(
      `the broker takes ${broker.receive_maximum} messages unacknowledged (Receive Maximum): the outbox keeps ${window} batch(es) in flight, not central.outbox.max_inflight (${s.outbox.max_inflight})`,
    );
  return notes;
}

const LIMIT_WORDS: [keyof BrokerLimits, (v: number | boolean) => string][] = [
  ['maximum_packet_size', (v) => `max packet ${String(v)} B`],
  ['receive_maximum', (v) => `receive max ${String(v)}`],
  ['retain_available', (v) => `retain ${v ? 'yes' : 'no'}`],
  ['maximum_qos', (v) => `max QoS ${String(v)}`],
  ['topic_alias_maximum', (v) => `topic aliases ${String(v)}`],
  ['server_keep_alive_s', (v) => `server keep alive ${String(v)} s`],
  ['session_expiry_interval_s', (v) => `session expiry ${String(v)} s`],
];

function formatStep(name: string, step: { topic: string } & Outcome, done: string): string {
  if (step.ok) return `     ${name} ${step.topic}: ${done}${step.reason_code === 0x10 ? ' (no subscribers now)' : ''}`;
  return `     ${name} ${step.topic}: ${'skipped' in step ? `skipped: ${step.skipped}` : `failed: ${step.error}`}`;
}

function formatCheck(report: CentralCheck): string {
  const lines = [`${report.ok ? 'ok  ' : 'FAIL'} ${report.url} as ${report.client_id}`];
  const c = report.connect;
  if (c.ok) {
    const limits = LIMIT_WORDS.filter(([key]) => c.broker[key] !== undefined).map(([key, words]) =>
      words(c.broker[key]!),
    );
    lines.push(
      `     connect: CONNACK in ${c.connack_ms} ms${limits.length > 0 ? `; the broker: ${limits.join(', ')}` : ''}`,
    );
  } else lines.push(`     connect: failed: ${c.error}`);
  const granted = report.subscribe.ok ? `granted (QoS ${report.subscribe.reason_code})` : '';
  lines.push(formatStep('subscribe', report.subscribe, granted), formatStep('publish', report.publish, 'acknowledged'));
  if (report.authority) lines.push(...formatAuthority(report.authority));
  for (const note of report.notes) lines.push(`     note: ${note}`);
  return `${lines.join('\n')}\n`;
}
