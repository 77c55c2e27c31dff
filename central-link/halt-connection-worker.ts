import { parentPort, workerData } from 'node:worker_threads';
import { connect, type IPublishPacket, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { applyThreadScheduling, Backoff, FloodGuard } from '../daemon/util/index.ts';
import { CommandCounterStore } from './command-signature-counter.ts';
import { claimHalt } from './halt-claims.ts';
import { CommandSignatureCheck } from './command-signature-check.ts';
import { COUNTER_PROPERTY, parseCommandKey, SIGNATURE_PROPERTY } from './command-signature.ts';
import { haltIntentId } from './halt-intent.ts';
import type {
  FromHaltConnection,
  HaltConnectionData,
  HaltConnectionState,
  ToHaltConnection,
} from './halt-connection-messages.ts';
import { HaltLine } from '../daemon/halt/index.ts';

// The stop connection's thread (see StopConnection): a second MQTT connection of the robot's, subscribed to its intents
// topic, that takes central's stop intents off the daemon's event loop. A stop central signed for this robot, with a
// counter neither this thread nor the link took, inside its expiry, is marked on the stop line at once (the control
// loops' threads and the sim hold from their next tick) and posted to the main thread, which halts and acks as the
// link does. Everything else is left to the link, which reads the same messages: unsigned ones (the file's opt-out),
// other intents, refusals (their acks are the link's). It loads only what a stop needs: the signature check, the
// counters, the line and mqtt.
const data = workerData as HaltConnectionData;
const port = parentPort!;
const post = (m: FromHaltConnection): void => port.postMessage(m);
const log = pino(
  { level: data.logLevel, base: { component: 'central-stop' }, timestamp: false },
  { write: (line: string) => post({ type: 'log', line }) },
);
const line = new HaltLine(data.line);

// The link's counters as the file holds them, and each the link takes from now on ('seen'): a stop the link took
// while this connection was down is a replay here too.
const counters = new CommandCounterStore({ path: data.counterPath, readOnly: true });
counters.load();
const check = new CommandSignatureCheck({
  keys: data.keys.map((k, i) => parseCommandKey(k, `central.command_keys.${i}`)),
  required: true,
  fleet: data.fleet,
  robot: data.robot,
  counters,
  warn: (m) => log.warn(m), // the link says the same once on its own
});

// Real time as the stop listener's thread (motion.stop.scheduling): a stop is read within a few ms however busy the
// cores are. The broker's ACL lets only central publish here; without one, any client could keep a real-time thread
// busy with signatures to check, so past FLOOD_PER_S messages in a second it leaves real time until FLOOD_QUIET_MS
// pass without a flood.
const FLOOD_PER_S = 50;
const FLOOD_QUIET_MS = 5000;
const realTime = data.scheduling.policy !== 'other';
const flood = new FloodGuard(FLOOD_PER_S, FLOOD_QUIET_MS);
post({ type: 'scheduling', scheduling: applyThreadScheduling(data.scheduling).summary });

function reschedule(demoted: boolean): void {
  const { rtPriority, nice } = data.scheduling;
  const applied = applyThreadScheduling(demoted ? { policy: 'other', rtPriority, nice } : data.scheduling);
  const scheduling = demoted
    ? `${applied.summary} (left real time for a flood of over ${FLOOD_PER_S} messages a second)`
    : applied.summary;
  post({ type: 'scheduling', scheduling });
  if (demoted) log.warn({ scheduling }, `central stop connection: over ${FLOOD_PER_S} messages a second`);
}

if (realTime)
  setInterval(() => {
    if (flood.quiet(performance.now())) reschedule(false);
  }, 1000).unref();

/** A connection up this long resets the reconnect backoff, as the link's (MqttConnection). */
const STABLE_MS = 30_000;
const backoff = new Backoff({ firstMs: data.reconnectMinMs, maxMs: data.reconnectMaxMs, jitter: 0.5 });
const state: HaltConnectionState = { state: 'connecting', connects: 0 };
let connectedAt: number | undefined;
let closing = false;
let timer: NodeJS.Timeout | undefined;

function setState(change: Partial<HaltConnectionState>): void {
  Object.assign(state, change);
  post({ type: 'state', connection: { ...state } });
}

// A clean session, and QoS 0: stops sent while this connection is down are the link's alone (its persistent session
// keeps them), so none comes here late, after the link took it. No will: the link's status is the robot's.
const client: MqttClient = connect(data.url, {
  protocolVersion: 5,
  clientId: data.clientId,
  clean: true,
  keepalive: data.keepaliveS,
  connectTimeout: data.connectTimeoutMs,
  reconnectPeriod: 0,
  resubscribe: false, // subscribed at every connect below
  properties: { sessionExpiryInterval: 0, maximumPacketSize: data.maxIntentBytes + 64 * 1024 },
  ...(data.username ? { username: data.username } : {}),
  ...(data.password ? { password: data.password } : {}),
  ...(data.ca ? { ca: data.ca } : {}),
});

client.on('connect', () => {
  connectedAt = performance.now();
  // Retain handling 2: a retained message is never sent here (a retained intent is refused by the link).
  client.subscribe({ [data.topic]: { qos: 0, rh: 2 } }, (error, granted) => {
    const refused = granted?.find((g) => g.qos >= 0x80);
    const problem = error
      ? `subscribing to ${data.topic} failed: ${error.message}`
      : refused
        ? `the broker refused the subscription to ${data.topic} (0x${refused.qos.toString(16)}), by its ACL for ${data.clientId}`
        : undefined;
    setState({ state: problem ? 'offline' : 'connected', connects: state.connects + 1, last_error: problem });
    if (problem) log.warn({ topic: data.topic }, `central stop connection: ${problem}`);
  });
});
client.on('error', (error) => setState({ last_error: loginRefused(error) ?? error.message }));
client.on('close', () => {
  if (closing) return;
  if (connectedAt !== undefined && performance.now() - connectedAt >= STABLE_MS) backoff.reset();
  connectedAt = undefined;
  const delay = backoff.next();
  setState({ state: 'offline', reconnect_delay_ms: Math.round(delay), last_error: state.last_error ?? 'closed' });
  clearTimeout(timer);
  timer = setTimeout(() => {
    setState({ state: 'connecting' });
    client.reconnect();
  }, delay);
});
client.on('message', (topic, payload, packet) => take(topic, payload, packet));

/**
 * The broker's refusal of the stop login in words an operator acts on: a broker set up before stop logins existed
 * has none. The link's own connection is another login and is not touched.
 */
function loginRefused(error: Error & { code?: number }): string | undefined {
  // Bad user name or password, Not authorized (mosquitto's answer to a login it does not know).
  if (!data.username || (error.code !== 0x86 && error.code !== 0x87)) return undefined;
  return (
    `the broker refused the stop login ${data.username} (${error.message}): on the broker, run \`auraison-edge central acl\` ` +
    `again and add the login with this robot's password (mosquitto_passwd <password file> ${data.username}); ` +
    "until then central's stops come through the link alone"
  );
}

function take(topic: string, payload: Buffer, packet: IPublishPacket): void {
  if (realTime && flood.hit(performance.now())) reschedule(true);
  if (topic !== data.topic) return;
  const properties = packet.properties?.userProperties;
  // Unsigned: taken or refused by the link alone (the file's opt-out takes them; else they are refused).
  if (typeof properties?.[SIGNATURE_PROPERTY] !== 'string') return;
  const intentId = haltIntentId(payload, packet.retain, data.maxIntentBytes);
  if (intentId === undefined) return;
  const counter = properties[COUNTER_PROPERTY] as string;
  // Marked in the tick the signature is known good, before anything that can wait.
  const marked = () => {
    // The link read it first and marks it itself: one mark per stop, and no message whose take would be another's.
    if (!claimHalt(data.claims, counter)) return;
    line.haltedOffLoop();
    const at = (BigInt(Date.now()) * 1_000_000n).toString();
    post({ type: 'stop', counter, intentId, payload: new Uint8Array(payload), at });
  };
  void check.check('intents', payload, properties, marked).then((verdict) => {
    if (!verdict.ok) post({ type: 'refused', code: verdict.code });
  });
}

port.on('message', (m: ToHaltConnection) => {
  if (m.type === 'seen') {
    counters.claim(BigInt(m.counter));
    return;
  }
  closing = true;
  clearTimeout(timer);
  client.end(true, {}, () => {
    post({ type: 'closed' });
    process.exit(0);
  });
});
