import type { AgentEventRecord, NotedEvent } from './agent-event-record.ts';
import type { AgentEvent } from './schemas.ts';

// A file of its own, with type imports only: the CLI follows a run with it without loading the schemas.

/**
 * The events an `agent_event` record's data holds, oldest first: the ones it carries in `noted`, then
 * itself (without `noted`). Not checked against the contract (a reader that needs that checks the data with
 * AgentEventRecord first), but safe on any data: a `noted` that is not a list is left out, and so is an
 * entry of it that is not an object. Data with nothing carried comes back as it is, in a list of one.
 */
export function agentEventsOf(data: AgentEventRecord): AgentEvent[] {
  const { noted } = data;
  if (noted === undefined) return [data];
  const { event_id, run_id, kind, payload, ts } = data;
  const events: AgentEvent[] = [];
  if (Array.isArray(noted))
    for (const n of noted as unknown[]) {
      if (typeof n !== 'object' || n === null) continue;
      const e = n as Partial<NotedEvent>;
      events.push({ event_id: e.event_id!, run_id, kind: e.kind!, payload: e.payload!, ts });
    }
  events.push({ event_id, run_id, kind, payload, ts });
  return events;
}
