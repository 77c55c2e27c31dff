import { nowNs } from '../daemon/util/index.ts';
import type { MqttConnection } from './mqtt-connection.ts';
import type { Outbox } from './outbox.ts';
import type { SyncManager } from './sync/sync-manager.ts';

/** How long the broker's "another client with this client id" is remembered for status. */
const TAKEOVER_WINDOW_MS = 10 * 60_000;

/** The robot's retained status message (schema auraison.status/1). */
export interface StatusMessage {
  schema: 'auraison.status/1';
  robot: string;
  fleet: string;
  state: 'online' | 'offline';
  reason?: string;
  /** The robot's own status page, while it is online and its API listens. */
  status_url?: string;
  pid: number;
  /** When it was sent, ns since the epoch. */
  ts: string;
}

/**
 * The retained status message on the robot's status topic (and its last will). Online, it carries the robot's own
 * status page, for central's fleet page to link to.
 */
export function statusMessage(
  robot: { id: string; fleet: string },
  state: 'online' | 'offline',
  reason: string | undefined,
  statusPage: () => { status_url?: string },
): StatusMessage {
  return {
    schema: 'auraison.status/1',
    robot: robot.id,
    fleet: robot.fleet,
    state,
    ...(reason ? { reason } : {}),
    ...(state === 'online' ? statusPage() : {}),
    pid: process.pid,
    ts: nowNs().toString(),
  };
}

/**
 * Why the link itself does not carry what it should: knocked off by a twin, offline, a subscription refused, a
 * batch refused, sync.
 */
export function linkProblem({
  connection,
  online,
  outbox,
  sync,
}: {
  connection: MqttConnection;
  /** Connected and subscribed. */
  online: boolean;
  outbox: Outbox;
  sync: SyncManager | undefined;
}): string | undefined {
  // Once is a restart's overlap; again and again is a second client with this client id, one of them ours.
  const takeovers = connection.takeoversWithin(TAKEOVER_WINDOW_MS);
  if (takeovers >= 2)
    return `the broker dropped this robot's connection ${takeovers} times in ${TAKEOVER_WINDOW_MS / 60_000} min, each soon after taking it: another client with this client id (${connection.clientId}) connects (a second daemon with this robot.id, or another login taking its place), or the network drops it; give each robot its own robot.id, and set up the broker so that a login's client id is its own (\`auraison-edge central acl\`, docs/central-link.md)`;
  if (!online) {
    const why = connection.lastError ?? (connection.connected ? 'subscribing' : 'not connected yet');
    return `offline (${why}); ${outbox.backlog} journal record(s) wait for central, sent on reconnect`;
  }
  // Events and heartbeats still go up: the robot looks fine from central, and hears nothing from it.
  if (connection.subscriptionProblem)
    return `connected, but ${connection.subscriptionProblem}: what central sends there does not reach this robot`;
  if (outbox.lastError) return outbox.lastError;
  const syncProblem = sync?.status().degraded;
  if (syncProblem) return `bulk sync: ${syncProblem} (uploads go on; check the data dir's disk)`;
  return undefined;
}
