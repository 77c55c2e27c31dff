/** The central link's traffic classes, in the order its budget serves them. */
export type SyncPriority = 'control' | 'events' | 'bulk';

/** Who paused bulk sync: central (it lifts it) or this robot (its operator lifts it). */
export type PausedBy = 'central' | 'local';

/** The file bulk sync is uploading now. */
export type CurrentUpload = {
  path: string;
  kind: string;
  size: number;
  /** Bytes of the file at the storage (acknowledged parts and this session's progress). */
  sent: number;
  bytes_per_s: number;
  eta_s: number | null;
};

/** The central link's send budget, as status shows it. */
export type BudgetStats = {
  /** The rate in force now (the window's, or the budget's); 0 = unlimited. */
  bytes_per_s: number;
  /** Bytes granted since the budget was made, per priority. */
  sent: Record<SyncPriority, number>;
  /** take() calls waiting now, per priority. */
  waiting: Record<SyncPriority, number>;
  /** Why bulk is paused (pauseBulk's reason, or `outside upload windows`); absent when it may send. */
  bulk_paused?: string;
};

/** Bulk sync's figures (GET /sync, /status and the heartbeat's). */
export type SyncStatus = {
  online: boolean;
  /** `since` (ISO time) for a pause from central or here, which lasts across restarts until resumed. */
  paused: { by: PausedBy | 'window'; reason: string; since?: string } | null;
  awaiting: { files: number; bytes: number };
  /** Files and bytes per state of the catalog's sync_files rows. */
  states: Record<string, { files: number; bytes: number }>;
  unreported_lost: number;
  /** Looks for work (lost files to report, completes to resend, offers to make) finished since the start. */
  passes: number;
  current: CurrentUpload | null;
  last_error: string | null;
  /** When the last error came (ISO 8601); both clear once an upload succeeds after it. */
  last_error_at: string | null;
  /** Catalog updates failed (a full disk): uploads go on, what they did may be sent again after a restart. */
  degraded: string | null;
  uploads: { done: number; failed: number; bytes_sent: number };
  /** Grants to an origin central.sync.storage_origins does not pin; `stored` for a file this robot did not upload. */
  refused: { grants: number; stored: number };
  budget: BudgetStats;
};
