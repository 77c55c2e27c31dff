import { readFileSync } from 'node:fs';
import type { CentralSettings } from '../daemon/config/index.ts';
import type { MqttConnectionOptions } from './mqtt-connection.ts';
import type { CentralTopics } from './topics.ts';
import { errorText } from '../daemon/util/index.ts';

/** Room for an intent's MQTT packet around its payload (topic, properties). */
const PACKET_HEADROOM = 64 * 1024;

/**
 * What the daemon's link and `auraison-edge central check` take from `central.*` alike, so the check tries
 * the link the daemon will make: the client id, the TLS files, and what a broker's refusal means.
 */

/** The client id that names the robot's session at the broker. */
export function centralClientId(settings: Pick<CentralSettings, 'client_id'>, fleet: string, robot: string): string {
  return settings.client_id || `auraison-edge-${fleet}-${robot}`;
}

/**
 * The robot's session at the broker from `central.*`: who it is, its TLS files (read now), its timing, and what it
 * subscribes to.
 */
export function sessionOptions(
  s: CentralSettings,
  fleet: string,
  robot: string,
  topics: CentralTopics,
): Omit<MqttConnectionOptions, 'will' | 'onMessage' | 'onConnect' | 'onClose' | 'log' | 'random'> {
  return {
    url: s.url,
    clientId: centralClientId(s, fleet, robot),
    ...(s.username ? { username: s.username } : {}),
    ...(s.password ? { password: s.password } : {}),
    ...readTlsFiles(s),
    keepaliveS: s.keepalive_s,
    connectTimeoutMs: s.connect_timeout_s * 1000,
    sessionExpiryS: s.session_expiry_s,
    reconnectMinMs: s.reconnect_min_s * 1000,
    reconnectMaxMs: s.reconnect_max_s * 1000,
    maximumPacketSize: s.max_intent_bytes + PACKET_HEADROOM,
    // An intent is a command, never a state: a retained one would come again at every subscribe (each
    // reconnect), and run again once the agent no longer remembers its id. The session's subscription
    // keeps retained intents from being sent again; one that still comes is refused (IntentIntake).
    subscriptions: [
      ...(s.intents ? [{ topic: topics.intents, retainHandling: 1 as const }] : []),
      { topic: topics.config, retainHandling: 0 as const },
      ...(s.sync.enabled ? [{ topic: topics.grants, retainHandling: 1 as const }] : []),
      { topic: topics.resend, retainHandling: 1 as const },
    ],
    unsubscriptions: s.intents ? [] : [topics.intents],
  };
}

/** The PEM files named in `central.*`, read now: one that cannot be read is an error naming its key. */
export function readTlsFiles(
  settings: Pick<CentralSettings, 'ca_file' | 'cert_file' | 'key_file'>,
): Partial<Record<'ca' | 'cert' | 'key', Buffer>> {
  return {
    ...readPem('central.ca_file', settings.ca_file, 'ca'),
    ...readPem('central.cert_file', settings.cert_file, 'cert'),
    ...readPem('central.key_file', settings.key_file, 'key'),
  };
}

function readPem(key: string, path: string, as: 'ca' | 'cert' | 'key'): Partial<Record<'ca' | 'cert' | 'key', Buffer>> {
  if (path === '') return {};
  try {
    return { [as]: readFileSync(path) };
  } catch (error) {
    throw new Error(`${key}: cannot read ${path}: ${errorText(error)}`);
  }
}

/** What to check when the broker refuses the CONNECT, by reason code (MQTT 5, and 3.1.1's for an old broker). */
const CONNACK_HINTS: Record<number, string> = {
  0x86: 'check central.username and central.password',
  4: 'check central.username and central.password',
  // mosquitto answers a wrong password, and a missing one, with Not authorized; other brokers, an ACL.
  0x87: "check central.username and central.password, or the client certificate (central.cert_file), and the broker's ACL",
  5: "check central.username and central.password, or the client certificate (central.cert_file), and the broker's ACL",
  0x85: "the broker refused the client id: check central.client_id against the broker's rules",
  0x84: 'the broker does not speak MQTT 5, which the central link needs',
  1: 'the broker does not speak MQTT 5, which the central link needs',
  0x8a: 'the broker bans this client (its username, address or client id)',
  0x88: 'the broker is up but not taking connections now: try again, or see its log',
  0x89: 'the broker is up but not taking connections now: try again, or see its log',
  0x9f: 'the broker takes connections from this address less often: try again shortly',
};

/** A CONNACK refusal in words: the reason's name and what to check. */
export function connackRefusal(code: number, reasonName: string): string {
  const hint = CONNACK_HINTS[code];
  return `the broker refused the connection: ${reasonName} (0x${code.toString(16)})${hint ? `: ${hint}` : ''}`;
}
