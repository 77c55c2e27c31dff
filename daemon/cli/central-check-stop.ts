import type { IClientOptions, MqttClient } from 'mqtt';
import type { CentralSettings, StopSettings } from '../config/index.ts';
import { within } from '../util/index.ts';

/**
 * `central check`'s step for the stop connection (motion.stop.central_connection): log in as the daemon's thread would,
 * the robot's stop login `<robot id>/intents` with the link's password, and subscribe to the intents topic. A broker
 * set up before `central acl` wrote the stop login refuses it, and central's stop then waits for the daemon's event
 * loop: the daemon only logs that once, so the check says it before the robot runs. A publish on the intents topic
 * with this login must be refused too (the ACL's deny): a stop login that could publish there is a hole.
 */
export type StopLoginCheck =
  | { ok: false; skipped: string }
  | { ok: boolean; login?: string; client_id: string; error?: string; subscribe_qos?: number; holes: string[] };

export interface StopLoginTarget {
  settings: CentralSettings;
  /** motion.stop: whether the daemon runs the stop connection at all. */
  stop: StopSettings;
  mqtt: typeof import('mqtt').default;
  url: string;
  tls: Pick<IClientOptions, 'ca' | 'cert' | 'key'>;
  /** The check's own client id: the stop login's is this with `/stop`, as the daemon's is the link's with `/stop`. */
  clientId: string;
  login: string;
  intents: string;
  timeoutMs: number;
  reason: (code: number) => string;
}

/** What to do when the broker refuses the stop login. */
const STOP_LOGIN_FIX =
  "add the stop login to the broker (mosquitto_passwd FILE <robot id>/intents, with the robot's password) and `central acl`'s ACL lines for it, or set motion.stop.central_connection: false";

/** Why the daemon runs no stop connection with these settings, or undefined when it runs one. */
export function stopConnectionSkipped(s: CentralSettings, stop: StopSettings): string | undefined {
  if (!stop.central_connection) return 'motion.stop.central_connection is false';
  if (!s.intents) return 'central.intents is false: there are no stop intents to read';
  if (s.command_keys.length === 0) return "no key of central's is pinned (central.command_keys)";
  if (s.cert_file && !s.username)
    return 'the link logs in by its client certificate alone: the stop connection needs a username';
  return undefined;
}

export async function checkStopLogin(target: StopLoginTarget): Promise<StopLoginCheck> {
  const { settings: s, mqtt, url, tls, clientId, login, intents, timeoutMs, reason } = target;
  const skipped = stopConnectionSkipped(s, target.stop);
  if (skipped) return { ok: false, skipped };
  const username = s.username ? login : undefined;
  const report = {
    ok: false,
    ...(username ? { login: username } : {}),
    client_id: `${clientId}/stop`,
    holes: [] as string[],
  };
  // Never the link's client certificate: the daemon's stop connection does not send it.
  const client = mqtt.connect(url, {
    protocolVersion: 5,
    clientId: report.client_id,
    clean: true,
    keepalive: s.keepalive_s,
    connectTimeout: timeoutMs + 1000,
    reconnectPeriod: 0,
    ...(username ? { username } : {}),
    ...(s.password ? { password: s.password } : {}),
    ...(tls.ca ? { ca: tls.ca } : {}),
  });
  try {
    const connected = await within(
      new Promise<string | undefined>((done) => {
        client.on('connect', () => done(undefined));
        client.on('error', (error: Error & { code?: unknown }) =>
          done(typeof error.code === 'number' ? `refused: ${reason(error.code)}` : error.message),
        );
        client.on('close', () => done('the broker closed the connection'));
      }),
      timeoutMs,
      `no CONNACK within ${timeoutMs / 1000} s`,
    );
    if (connected !== undefined) return { ...report, error: `${connected}: ${STOP_LOGIN_FIX}` };
    const granted = await subscribeQos(client, intents, timeoutMs);
    if (typeof granted !== 'number' || granted >= 0x80)
      return {
        ...report,
        error: `subscribe ${intents}: ${typeof granted === 'number' ? `refused: ${reason(granted)}` : granted}: ${STOP_LOGIN_FIX}`,
      };
    const published = await publishCode(client, intents, timeoutMs);
    if (typeof published === 'number' && published < 0x80)
      report.holes.push(
        `the stop login may publish on ${intents}: run \`auraison-edge central acl\` for its deny (docs/central-link.md, Broker ACL and threat model)`,
      );
    return { ...report, ok: report.holes.length === 0, subscribe_qos: granted };
  } finally {
    client.end(true);
  }
}

export function formatStopLogin(check: StopLoginCheck): string {
  if ('skipped' in check) return `     stop login: not used (${check.skipped})`;
  const who = `${check.login ?? 'no username'} as ${check.client_id}`;
  if (check.error) return `     stop login ${who}: failed: ${check.error}`;
  const lines = [`     stop login ${who}: intents granted (QoS ${check.subscribe_qos})`];
  for (const hole of check.holes) lines.push(`     stop login: HOLE: ${hole}`);
  return lines.join('\n');
}

/** The SUBACK's code for a QoS 1 subscription, or why there is none. */
const subscribeQos = (client: MqttClient, topic: string, ms: number): Promise<number | string> =>
  within(
    new Promise<number | string>((done) =>
      client.subscribe(topic, { qos: 1 }, (error, _granted, packet) => {
        const code: unknown = packet?.granted[0];
        done(typeof code === 'number' ? code : (error?.message ?? 'no reason code in the SUBACK'));
      }),
    ),
    ms,
    `no SUBACK within ${ms / 1000} s`,
  );

/**
 * The PUBACK's code for a publish on the intents topic, or why there is none. Not a command (an empty JSON object,
 * refused by the robot's intake) and with a short expiry, should a broker take it.
 */
const publishCode = (client: MqttClient, topic: string, ms: number): Promise<number | string> =>
  within(
    new Promise<number | string>((done) =>
      client.publish(topic, '{}', { qos: 1, properties: { messageExpiryInterval: 5 } }, (error, packet) => {
        const code: unknown =
          (error as { code?: unknown } | undefined)?.code ??
          (packet as { reasonCode?: number } | undefined)?.reasonCode;
        done(typeof code === 'number' ? code : (error?.message ?? 0));
      }),
    ),
    ms,
    `no PUBACK within ${ms / 1000} s`,
  );
