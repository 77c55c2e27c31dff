import { randomBytes } from 'node:crypto';
import type { IClientOptions, IConnackPacket, MqttClient } from 'mqtt';
import { redactUrl, errorText, within } from '../util/index.ts';
import { loadCentralLink, loadVllm } from '../components/index.ts';
import { resolveDataDir, type CentralSettings, type EdgeConfig, type StopSettings } from '../config/index.ts';
import { alive } from '../lifecycle/index.ts';
import { readStatusFile } from '../status/index.ts';
import { nowNs } from '../util/index.ts';
import {
  commandAuthority,
  formatAuthority,
  formatCommandAuthority,
  probeAuthority,
  type AuthorityProbe,
  type CommandAuthority,
} from './central-check-authority.ts';
import { checkStopLogin, formatStopLogin, type StopLoginCheck } from './central-check-stop.ts';

/**
 * `auraison-edge central check` (commands/central.ts reads its options): connect to the broker as the daemon
 * would, subscribe to the robot's intents, publish once on its heartbeat, probe the broker's authorization
 * (central-check-authority.ts), disconnect; each step bounded, each failure in words.
 */

/**
 * The daemon that runs with `config` and whose central link is connected now (its status file, its pid alive), or
 * undefined: beside it, a check with the same login takes its place on a broker that ties client ids to logins.
 */
export function connectedDaemon(config: EdgeConfig, cwd: string): { pid: number } | undefined {
  const status = readStatusFile(resolveDataDir(config, cwd));
  if (!status || status.state !== 'running' || !alive(status.pid)) return undefined;
  const link = status.components.central?.details as { connected?: unknown } | undefined;
  return link?.connected === true ? { pid: status.pid } : undefined;
}

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

export interface CentralCheck {
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
  /** Whether the robot's file lets central alone command it (its key pinned, unsigned commands refused). */
  commands: CommandAuthority;
  /** The stop connection's login (central-check-stop.ts), once the link's login connected. */
  stop_login?: StopLoginCheck;
  /** What passed but will bite the daemon (a broker that keeps no retained messages, small packets). */
  notes: string[];
}

export interface CheckTarget {
  central: CentralSettings;
  stop: StopSettings;
  url: string;
  robot: string;
  fleet: string;
  timeoutMs: number;
}

/** What the check publishes for: central may see it on the heartbeat topic, and can tell it from a heartbeat. */
const CHECK_SCHEMA = 'auraison.check/1';

/** `central check`: connect, subscribe to intents, publish once, disconnect; every step within timeoutMs. */
export async function checkCentral(target: CheckTarget): Promise<CentralCheck> {
  const { central: s, url, robot, fleet, timeoutMs } = target;
  const { default: mqtt, ReasonCodes } = await import('mqtt');
  const { describeFailure } = await loadVllm();
  const { centralClientId, centralTopics, stopLogin, connackRefusal, readTlsFiles, parseCommandKey, NO_KEY_REMEDY } =
    await loadCentralLink();
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
    commands: { ok: false, keys: 0, require_signed: true },
  };
  try {
    report.commands = commandAuthority(s, parseCommandKey, NO_KEY_REMEDY);
  } catch (error) {
    report.commands.problem = errorText(error);
  }
  let tls: Pick<IClientOptions, 'ca' | 'cert' | 'key'>;
  try {
    tls = readTlsFiles(s);
  } catch (error) {
    report.connect = { ok: false, error: errorText(error) };
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
  report.stop_login = await checkStopLogin({
    settings: s,
    stop: target.stop,
    mqtt,
    url,
    tls,
    clientId,
    login: stopLogin(robot),
    intents: topics.intents,
    timeoutMs,
    reason,
  });
  const stopOk = 'skipped' in report.stop_login || report.stop_login.ok;
  report.ok = report.subscribe.ok && report.publish.ok && report.authority.ok && report.commands.ok && stopOk;
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
  return within(new Promise<T>(start), ms, late);
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

export function formatCheck(report: CentralCheck): string {
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
  if (report.stop_login) lines.push(formatStopLogin(report.stop_login));
  lines.push(formatCommandAuthority(report.commands));
  for (const note of report.notes) lines.push(`     note: ${note}`);
  return `${lines.join('\n')}\n`;
}
