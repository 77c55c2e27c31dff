import type { BulkLane } from './bulk-lane.ts';
import type { ZenohLink } from './zenoh-link.ts';

/**
 * How a Zenoh component is, from its sessions: running while its link is up and reaches a router, degraded
 * with the reason otherwise, or while one of its other lanes (bulk, receiving) is down.
 */
export function linkHealth(
  link: ZenohLink,
  lanes: { bulk: ZenohLink | BulkLane | undefined; receiving: ZenohLink | undefined },
): { state: 'running' } | { state: 'degraded'; reason: string } {
  for (const [lane, other] of Object.entries(lanes)) {
    if (link.state === 'up' && other !== undefined && other.state !== 'up') {
      const reason = `the ${lane} session to ${other.endpoint} is down: ${other.reason ?? other.state}`;
      return { state: 'degraded', reason };
    }
  }
  if (link.state === 'up') {
    if (link.counters.routers === 0)
      return { state: 'degraded', reason: `the Zenoh bridge at ${link.endpoint} reaches no router` };
    return { state: 'running' };
  }
  const reason =
    link.state === 'connecting'
      ? `connecting to ${link.endpoint}`
      : `no Zenoh link to ${link.endpoint}: ${link.reason ?? 'down'}`;
  return { state: 'degraded', reason };
}
