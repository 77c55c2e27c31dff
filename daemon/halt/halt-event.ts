import { AGENT_EVENT, type AgentEvent, type HaltLatchState } from '../contract/index.ts';
import { newId, nowNs } from '../util/index.ts';
import type { OffLoopHalt } from '../contract/index.ts';

/**
 * The operator's stop and its release as agent events in the journal, so the lakehouse's `events` table and
 * central see them as they see every run's events. Each has a run_id of its own (the stop's id): no run
 * state is ever written under it, and the run store leaves these events out (isStopEvent).
 */
export const HALT_EVENT_KINDS = { engaged: 'stop.engaged', released: 'stop.released' } as const;

/** What a stop's event says: who, why, where the robot was, and what it ended. */
export interface HaltEventPayload {
  [key: string]: unknown;
  by: string;
  reason: string | null;
  /** From the last odometry message (agent.navigation.odom_topic), or null when none came. */
  pose: { x: number; y: number; frame_id: string } | null;
  aborted: string | null;
  cancelled: string[];
  goals: string[];
  zeroed: string[];
  /** The arm command topics held where the arm was measured, and those not held (or in part) with why. */
  held: string[];
  not_held: Record<string, string>;
  /**
   * The latch this stop engaged (null with motion.stop.latch off). Whether its file was written is the
   * reply's `latched` and the log's: the event is written beside the file, not after it.
   */
  latched: Pick<HaltLatchState, 'by' | 'reason' | 'since'> | null;
  /** Why the zero command could not be sent to the velocity topic (the robot was NOT stopped), or null. */
  not_stopped: string | null;
  /** A stop that came in on the stop listener: the zero commands its thread sent before this one heard. */
  off_loop?: { at: OffLoopHalt['at']; zeroed: string[]; failed: Record<string, string> };
}

/** The journal append (kind, data) of one stop event. */
export function haltEvent(stopId: string, kind: string, payload: Record<string, unknown>): [string, AgentEvent] {
  return [AGENT_EVENT, { event_id: newId(), run_id: stopId, kind, payload: toJson(payload), ts: nowNs().toString() }];
}

/** An agent event of the stop, not of a run. */
export function isHaltEvent(event: { kind?: unknown }): boolean {
  return event.kind === HALT_EVENT_KINDS.engaged || event.kind === HALT_EVENT_KINDS.released;
}

/** The payload as JSON holds it (undefined fields left out), as AgentEvent's payload schema takes it. */
function toJson(payload: Record<string, unknown>): AgentEvent['payload'] {
  return JSON.parse(JSON.stringify(payload)) as AgentEvent['payload'];
}
