import { randomBytes } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import type { CentralSettings } from '../config/index.ts';
import { within } from '../util/index.ts';

/**
 * `central check`'s probe of the broker's authorization, with the robot's own login: may it publish what only
 * central may (another robot's commands) or what only another robot may (its events and status), or read
 * another robot's topics? Each is a hole that `auraison-edge central acl` closes (docs/central-link.md,
 * "Broker ACL and threat model").
 *
 * Publishes go to a robot id no robot has (`<robot>.acl-probe-<random>`), at QoS 1, not retained and with a
 * short expiry, so a broker that takes them delivers them to nobody and keeps nothing. An MQTT 5 broker that
 * denies a publish answers PUBACK 0x87 (mosquitto 2 does); one that drops it silently and acknowledges it
 * looks like a hole here, which is the safe side to err on.
 *
 * Reading: mosquitto's acl_file grants every SUBSCRIBE and checks each message as it delivers it, so the
 * probe subscribes to every robot's status, config and intents and sees what comes: another robot's retained
 * status or config, or the probe's own publishes when the broker took them. The publishes' PUBACKs come after
 * the retained messages the subscription brought (the broker answers one client in order), so by the last
 * PUBACK all of those are in. With no other robot at the broker and every publish refused, nothing could be
 * read either way: the note says so.
 */

/** What the robot must not publish on another robot's topics: central's commands, and the robot's reports. */
const FOREIGN_PUBLISHES = ['intents', 'config', 'grants', 'resend', 'events', 'status'] as const;
/** What the robot must not read of another robot's: retained ones (status, config) prove it at once. */
const FOREIGN_READS = ['status', 'config', 'intents'] as const;

export interface AuthorityProbe {
  ok: boolean;
  /** The robot id no robot has, under which the probe publishes. */
  probe_robot: string;
  /** Each probe publish: refused (reason code >= 0x80) or taken. */
  publishes: { topic: string; reason_code?: number; refused: boolean; error?: string }[];
  /** The wildcard subscriptions and the broker's SUBACK codes. */
  subscriptions: { filter: string; reason_code?: number }[];
  /** Topics of other robots this login was sent. */
  read: string[];
  /** Each hole in words: what the login could do, and whose. */
  holes: string[];
}

export interface AuthorityTarget {
  client: MqttClient;
  timeoutMs: number;
  prefix: string;
  fleet: string;
  robot: string;
  payload: string;
}

/** Where a hole is fixed. */
export const ACL_FIX =
  "set up the broker's ACL: `auraison-edge central acl` (docs/central-link.md, Broker ACL and threat model)";

export async function probeAuthority({
  client,
  timeoutMs,
  prefix,
  fleet,
  robot,
  payload,
}: AuthorityTarget): Promise<AuthorityProbe> {
  const probeRobot = `${robot}.acl-probe-${randomBytes(3).toString('hex')}`;
  const at = (who: string) => `${prefix}/${fleet}/${who}`;
  const report: AuthorityProbe = {
    ok: false,
    probe_robot: probeRobot,
    publishes: [],
    subscriptions: [],
    read: [],
    holes: [],
  };
  const own = `${at(robot)}/`;
  const onMessage = (topic: string) => {
    if (topic.startsWith(`${prefix}/${fleet}/`) && !topic.startsWith(own) && !report.read.includes(topic))
      report.read.push(topic);
  };
  client.on('message', onMessage);
  try {
    const filters = FOREIGN_READS.map((leaf) => `${at('+')}/${leaf}`);
    report.subscriptions = await subscribe(client, filters, timeoutMs);
    for (const leaf of FOREIGN_PUBLISHES) {
      const topic = `${at(probeRobot)}/${leaf}`;
      const outcome = await publish(client, topic, payload, timeoutMs);
      report.publishes.push({ topic, ...outcome });
      if (!outcome.refused)
        report.holes.push(
          leaf === 'events' || leaf === 'status'
            ? `it may publish another robot's ${leaf} (${topic} taken): central would take them as that robot's`
            : `it may publish another robot's ${leaf} as central does (${topic} taken): any robot's login could command every robot`,
        );
    }
  } finally {
    client.removeListener('message', onMessage);
  }
  if (report.read.length > 0)
    report.holes.push(
      `it may read other robots' topics: it was sent ${report.read.slice(0, 3).join(', ')}${report.read.length > 3 ? ` and ${report.read.length - 3} more` : ''}`,
    );
  report.ok = report.holes.length === 0 && report.publishes.every((p) => p.refused);
  return report;
}

function subscribe(client: MqttClient, filters: string[], timeoutMs: number): Promise<AuthorityProbe['subscriptions']> {
  const answered = new Promise<AuthorityProbe['subscriptions']>((resolve) =>
    client.subscribe(filters, { qos: 1 }, (_error, granted) =>
      resolve(filters.map((filter, i) => ({ filter, reason_code: granted?.[i]?.qos }))),
    ),
  );
  return within(
    answered,
    timeoutMs,
    filters.map((filter) => ({ filter })),
  );
}

/** One QoS 1 publish, not retained, expiring soon: refused (the PUBACK's code >= 0x80) or taken. */
function publish(
  client: MqttClient,
  topic: string,
  payload: string,
  timeoutMs: number,
): Promise<{ reason_code?: number; refused: boolean; error?: string }> {
  const properties = { contentType: 'application/json', messageExpiryInterval: 10 };
  const acked = new Promise<{ reason_code?: number; refused: boolean; error?: string }>((resolve) => {
    client.publish(topic, payload, { qos: 1, retain: false, properties }, (error, packet) => {
      const code =
        (error as { code?: unknown } | undefined)?.code ??
        (packet as { reasonCode?: number } | undefined)?.reasonCode ??
        0;
      if (typeof code !== 'number') return resolve({ refused: false, error: error?.message ?? 'the publish failed' });
      resolve({ reason_code: code, refused: code >= 0x80 });
    });
  });
  // No PUBACK in time says nothing about authorization: not counted as refused.
  return within(acked, timeoutMs, { refused: false, error: `no PUBACK within ${timeoutMs / 1000} s` });
}

/** The probe in the check's human output: one line when all is refused, else a line per hole and the fix. */
export function formatAuthority(probe: AuthorityProbe): string[] {
  if (probe.ok) {
    const codes = [...new Set(probe.publishes.map((p) => `0x${(p.reason_code ?? 0).toString(16)}`))].join(', ');
    return [
      `     authority: another robot's topics refused to this login: ${probe.publishes.length} publishes (${codes}), nothing of theirs read`,
    ];
  }
  return [
    ...probe.holes.map((hole) => `     authority: ${hole}`),
    ...probe.publishes
      .filter((p) => p.error !== undefined)
      .map((p) => `     authority: publish ${p.topic}: ${p.error}`),
    `     authority: NOT ok: ${ACL_FIX}`,
  ];
}

/** Whether the robot's file lets central alone command it: central's key pinned, unsigned commands refused. */
export interface CommandAuthority {
  ok: boolean;
  /** Keys of central's pinned (central.command_keys). */
  keys: number;
  /** central.require_signed_commands as it applies (absent: true). */
  require_signed: boolean;
  problem?: string;
}

/**
 * The robot's side of who may command it, read from its file (the broker is probed apart): not ok while no key is
 * pinned (central cannot command it) or the file takes unsigned commands (any broker client can). A value in
 * command_keys that is not a key throws, naming it, as the daemon would.
 */
export function commandAuthority(
  s: Pick<CentralSettings, 'command_keys' | 'require_signed_commands'>,
  parseKey: (value: string, where: string) => unknown,
  remedy: string,
): CommandAuthority {
  s.command_keys.forEach((k, i) => parseKey(k, `central.command_keys.${i}`));
  const keys = s.command_keys.length;
  const required = s.require_signed_commands ?? true;
  const problem = !required
    ? 'central.require_signed_commands is false: any client of the broker can command this robot; set it true (or take it out)'
    : keys === 0
      ? `no key of central's is pinned (central.command_keys is empty): the daemon will refuse every command; ${remedy}`
      : undefined;
  return { ok: problem === undefined, keys, require_signed: required, ...(problem ? { problem } : {}) };
}

/** The commands line of the check's human output. */
export function formatCommandAuthority(c: CommandAuthority): string {
  return c.ok
    ? `     commands: central's key pinned (${c.keys}), unsigned commands refused`
    : `     commands: NOT ok: ${c.problem}`;
}
