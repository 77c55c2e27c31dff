import type { RobotView } from './fleet-view.ts';

/**
 * Why a status or heartbeat on `<fleet>/<robot>`'s topic is refused, or undefined: its payload must name that
 * robot and fleet. The broker's ACL (`central acl`) is what proves the topic: only that robot's login may
 * publish there; central serve probes whether its broker has one (sender-proof.ts). Without it any login may, and
 * this check alone stops a payload naming one robot on another's topic, not a forgery that names the topic's robot.
 */
export function reportProblem(message: Record<string, unknown>, fleet: string, robot: string): string | undefined {
  if (message.robot === robot && message.fleet === fleet) return undefined;
  const said = `${String(message.fleet ?? '(no fleet)')}/${String(message.robot ?? '(no robot)')}`;
  return `the payload says ${said}, the topic ${fleet}/${robot}`;
}

/**
 * The robots of the fleet as their status (retained, with the last will) and heartbeats tell them. Every
 * serve process subscribes to these without sharing, so each keeps the whole view in memory; nothing about
 * robots is stored.
 */
export class RobotRegistry {
  readonly #robots = new Map<string, RobotView>();
  readonly #fleet: string;

  constructor(fleet: string) {
    this.#fleet = fleet;
  }

  #get(robot: string): RobotView {
    let view = this.#robots.get(robot);
    if (!view) {
      view = { fleet: this.#fleet, robot, online: false };
      this.#robots.set(robot, view);
    }
    return view;
  }

  /** A status message (`auraison.status/1`); false when it is not one. */
  status(robot: string, message: Record<string, unknown>): boolean {
    if (message.schema !== 'auraison.status/1' || typeof message.state !== 'string') return false;
    const view = this.#get(robot);
    view.state = message.state;
    view.online = message.state === 'online';
    if (typeof message.reason === 'string') view.reason = message.reason;
    else delete view.reason;
    if (typeof message.status_url === 'string') view.status_url = message.status_url;
    return true;
  }

  /** A heartbeat (`auraison.heartbeat/1`); false when it is not one. */
  heartbeat(robot: string, message: Record<string, unknown>, now: Date = new Date()): boolean {
    if (message.schema !== 'auraison.heartbeat/1') return false;
    const view = this.#get(robot);
    view.last_heartbeat = now.toISOString();
    const outbox = message.outbox as { backlog?: unknown } | undefined;
    if (typeof outbox?.backlog === 'number') view.backlog = outbox.backlog;
    if (message.sync !== null && typeof message.sync === 'object') view.sync = message.sync as Record<string, unknown>;
    const refused = message.refused as { total?: unknown } | null | undefined;
    if (refused !== null && typeof refused === 'object' && typeof refused.total === 'number')
      view.refused = refused as RobotView['refused'] & object;
    if (typeof message.authority === 'string') view.authority = message.authority;
    else delete view.authority;
    if (typeof message.status_url === 'string') view.status_url = message.status_url;
    // A heartbeat comes only from a robot that is up, whatever a stale retained status said.
    if (!view.online) {
      view.online = true;
      view.state = 'online';
      delete view.reason;
    }
    return true;
  }

  robots(): RobotView[] {
    return [...this.#robots.values()].map((v) => ({ ...v })).sort((a, b) => a.robot.localeCompare(b.robot));
  }
}
