/**
 * The central link's MQTT topics for one robot (DESIGN.md): `<prefix>/<fleet>/<robot>/{events, heartbeat,
 * status, acks, uploads}` go up, `<prefix>/<fleet>/<robot>/{intents, config, grants, resend}` come down (uploads
 * and grants: bulk sync, central-link/sync-protocol.ts; resend: central asks for events again, resend.ts).
 * Fleet and robot ids are `[A-Za-z0-9_.-]+` (the config schema's), so no topic holds a wildcard or an empty level.
 */
export interface CentralTopics {
  events: string;
  heartbeat: string;
  status: string;
  acks: string;
  uploads: string;
  intents: string;
  config: string;
  grants: string;
  resend: string;
}

export function centralTopics(prefix: string, fleet: string, robot: string): CentralTopics {
  const at = `${prefix}/${fleet}/${robot}`;
  return {
    events: `${at}/events`,
    heartbeat: `${at}/heartbeat`,
    status: `${at}/status`,
    acks: `${at}/acks`,
    uploads: `${at}/uploads`,
    intents: `${at}/intents`,
    config: `${at}/config`,
    grants: `${at}/grants`,
    resend: `${at}/resend`,
  };
}

/**
 * The login of a robot's stop connection (central-link/halt-connection.ts): its intents topic below the fleet's, so one
 * pattern for a whole fleet (`pattern read <prefix>/<fleet>/%u`, central/broker-acl.ts) lets it read that topic alone,
 * and its client id, where the broker makes a login's client id its username, is no robot's (ids hold no `/`).
 */
export const stopLogin = (robot: string): string => `${robot}/intents`;

/**
 * Whether `topic` may be published to: a response topic central names (MQTT 5 request/response) must be a
 * topic name, not a filter, and not empty; not the broker's own ($SYS, $share: refused, so the ack would be
 * lost); and without control characters or non-characters (mosquitto takes those for a malformed packet and
 * disconnects, and the client would send the ack again first at every reconnect). The broker's ACL decides
 * the rest.
 */
export function isPublishableTopic(topic: string): boolean {
  return (
    topic.length > 0 &&
    Buffer.byteLength(topic) <= 65_535 &&
    !topic.startsWith('$') &&
    !/[+#\u0000-\u001f\u007f-\u009f\ufdd0-\ufdef\ufffe\uffff]/.test(topic)
  );
}
