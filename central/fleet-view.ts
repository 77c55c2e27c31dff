import type { MaintenanceCounts } from './lake-maintenance.ts';
import type { SenderProofState } from './sender-proof.ts';

/**
 * What `central serve` knows of its fleet, for the HTTP API and the fleet page (central/http.ts):
 * the robots as their retained status and heartbeats tell them (kept in memory by every serve process), SQL
 * over the fleet lakehouse, the latest events, and the uploads this process handled.
 */
export interface RobotView {
  fleet: string;
  robot: string;
  /** The robot's retained status says online (its last will says offline). */
  online: boolean;
  /** The status's state (`online`, `offline`). */
  state?: string;
  /** Why it is offline (its last will, a stop), as the status says. */
  reason?: string;
  /** When the last heartbeat came (ISO 8601, central's clock). */
  last_heartbeat?: string;
  /** Journal records the robot has not had acknowledged yet (its heartbeat's outbox.backlog). */
  backlog?: number;
  /** The robot's sync state as its heartbeat tells it (files awaiting sync, bytes, current upload). */
  sync?: Record<string, unknown>;
  /**
   * What the robot's link refused, as its heartbeat tells it: `total`, `last_at`, and the counts by who refused
   * (signature codes, rate_limited, grants, stored). A robot under attack shows here.
   */
  refused?: { total: number; last_at?: string | null } & Record<string, unknown>;
  /**
   * Whether the broker proves the reports came from the robot's own login (FleetView.senders says how central
   * knows): `unproven` when any login may publish on this robot's topics, so its status, heartbeat and events may
   * be anyone's.
   */
  sender?: 'proven' | 'unproven';
  /** The robot's word on who may command it, when it is not central's key alone (no key pinned, or unchecked). */
  authority?: string;
  /** The resend requests this process sent the robot (gap recovery, resend.ts). */
  resend?: { resends_asked: number; seqs_asked: number; last_asked?: string };
  /** The robot's own status page, when its status or heartbeat names one. */
  status_url?: string;
  /** The fleet page links status_url (it matches http.allowed_status_urls); absent: shown as text. */
  status_link?: true;
}

export interface UploadCounts {
  offered: number;
  granted: number;
  stored: number;
  rejected: number;
  bytes_stored: number;
}

export interface FleetView {
  robots(): RobotView[];
  /** Whether the broker proves who sent each robot's reports, as central last probed it (sender-proof.ts). */
  senders?(): SenderProofState;
  /** SQL over the fleet lakehouse (DuckLake attached as `fleet`, the default schema). */
  query(
    sql: string,
  ): Promise<{ columns: string[]; rows: unknown[][]; truncated?: boolean; truncated_by?: 'max_rows' | 'max_bytes' }>;
  /** The latest events, newest first. */
  recentEvents(limit: number): Promise<Record<string, unknown>[]>;
  uploads(): UploadCounts;
  /** This process's ingest: events written, duplicates, commits, failed commits, resends asked and seqs asked. */
  ingest?(): Record<string, number>;
  /** The lake's upkeep (lake-maintenance.ts): runs, skips, failures, the events table's files. */
  maintenance?(): MaintenanceCounts;
}
