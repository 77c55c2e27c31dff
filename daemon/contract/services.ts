import type { MetricFamily } from '../util/index.ts';
import type { PolicyHook } from './policy-hook.ts';
import type { AgentEvent, Intent, RunState, RunStatus } from './schemas.ts';

/**
 * The components' names. What components offer each other are the interfaces below, reached through typed
 * ports (PORTS in ports.ts, ComponentContext.ports), never by name: a component that failed to start is
 * absent, and the consumer degrades, never crashes.
 */
export const SERVICE_NAMES = {
  recorder: 'recorder',
  lakehouse: 'lakehouse',
  control: 'control',
  policies: 'policies',
  llm: 'llm',
  agent: 'agent',
  api: 'api',
  foxglove: 'foxglove',
  sim: 'sim',
  snapshot: 'snapshot',
  stop: 'stop',
} as const;

/** One record of the durable journal (`<data_dir>/log/`). `seq` is dense and increasing from 1. */
export interface JournalRecord {
  seq: number;
  /** ns since the epoch, decimal, when it was appended. */
  ts: string;
  /** `agent_event`, `run_state`, ... */
  kind: string;
  data: unknown;
}

/**
 * The durable, append-only journal of runs and events. `append` resolves only once the record is as
 * durable as the fsync policy promises, so callers acknowledge after it resolves, never before.
 */
/** One record to append. */
/** Journal record kinds: a run's state, and an agent event (a run's, or the operator's stop and release). */
export const RUN_STATE = 'run_state';
export const AGENT_EVENT = 'agent_event';

export interface JournalEntry {
  kind: string;
  data: unknown;
}

export interface Journal {
  append(kind: string, data: unknown): Promise<JournalRecord>;
  /**
   * Appends several records in order, in one call: consecutive seqs, one write, one promise; all durable
   * or all failed. Optional: `appendMany` in daemon/journal falls back to one `append` each.
   */
  appendMany?(entries: readonly JournalEntry[]): Promise<JournalRecord[]>;
  /** Records with seq >= fromSeq, oldest first, at most `limit`. */
  read(fromSeq: number, limit: number): JournalRecord[];
  /**
   * As read, each record as the UTF-8 bytes of its JSON text (JSON.stringify(record)), up to about `maxBytes`:
   * for readers that pass records on as they are. Journals that keep records as JSON text have it. The bytes
   * may be views of a buffer the next readRaw reuses: copy what you keep.
   */
  readRaw?(fromSeq: number, limit: number, maxBytes?: number): { seq: number; bytes: Buffer }[];
  /** Called for each appended record, after it is durable. Returns an unsubscribe function. */
  subscribe(listener: (record: JournalRecord) => void): () => void;
  readonly lastSeq: number;
  /** The oldest seq the journal still holds (retention deletes older ones); 1 when not known. */
  readonly firstSeq?: number;
}

/**
 * Implemented by components that still need old journal records: the lakehouse until it has indexed them,
 * the agent while a run that began in them is unfinished. Journal retention never drops a record at or
 * after the lowest `journalHold()`; undefined means "nothing held".
 */
export interface JournalHolder {
  journalHold(): number | undefined;
}

/**
 * Implemented by components that send journal records elsewhere (the central link's outbox): retention
 * keeps the records from the lowest `journalSyncHold()` on past journal.retain_days, but not past
 * journal.max_mb. A robot offline for weeks keeps what central has not got while the disk allows, and the
 * holder reports the records that went before it sent them.
 */
export interface JournalSyncHolder {
  journalSyncHold(): number | undefined;
}

/** An accepted intent's run, and whether the intent id was already known (a repeat of the same intent). */
export interface SubmittedIntent {
  run: RunState;
  replayed: boolean;
}

/** The edge agent (component `agent`). */
export interface AgentService {
  /** Validates and accepts an intent; resolves once its RunState is durable. Throws ValidationError on bad input. */
  submitIntent(
    intent: unknown,
    source: 'http' | 'mqtt' | 'ros' | 'zenoh' | 'cli' | 'mcp' | 'internal',
  ): Promise<RunState>;
  /**
   * As submitIntent, and says whether the intent was a repeat: the same intent id with the same content is
   * the same run (replayed), with other content it is a conflict (an error with statusCode 409).
   */
  submit(
    intent: unknown,
    source: 'http' | 'mqtt' | 'ros' | 'zenoh' | 'cli' | 'mcp' | 'internal',
  ): Promise<SubmittedIntent>;
  listRuns(filter?: { status?: RunStatus; limit?: number }): RunState[];
  getRun(runId: string): { run: RunState; events: AgentEvent[] } | undefined;
  /**
   * `source`: the channel the approval came through (default http, the operator's API); agent.rules.approval says
   * whether it may approve this run (an outside agent's never approves an outside agent's run): else `forbidden`.
   */
  approve(runId: string, by: string, source?: Intent['policy_ctx']['source']): Promise<RunState>;
  cancel(runId: string, by: string, reason?: string): Promise<RunState>;
  /**
   * The `stop` skill's first step now, for a stop intent not yet accepted (central's, as the link reads it): the
   * motion skill driving the robot aborted with `reason`, a zero Twist through the gate. Never throws.
   */
  haltMotion(reason: string): void;
}

/**
 * The component that holds the daemon's policy hooks (the agent). Other ways of acting on the robot (a
 * Foxglove teleop panel, ...) pass through the same hooks, so one set of limits covers them all.
 */
export interface PolicyHooksProvider {
  policyHooks(): readonly PolicyHook[];
}

/** Read-only SQL over the local lakehouse (component `lakehouse`). */
export interface LakehouseService {
  /** At most maxRows rows, and no more than maxBytes of them as JSON; `truncated_by` says which limit cut them. */
  query(
    sql: string,
    options?: { timeoutMs?: number; maxRows?: number; maxBytes?: number },
  ): Promise<{
    columns: { name: string; type: string }[];
    rows: unknown[][];
    truncated: boolean;
    truncated_by?: 'max_rows' | 'max_bytes';
  }>;
  /** Waits for the index jobs queued so far and says whether the recorded split `file` is in the catalog. */
  splitIndexing?(file: string): Promise<SplitIndexing>;
}

/** A split closed on request (`RecorderService.split`): absolute paths, times in ns since the epoch. */
export interface ClosedSplit {
  file: string;
  bag: string;
  messages: number;
  start_ns: string;
  end_ns: string;
  /**
   * False when nothing was recorded since the last split closed (by a limit, or another request a moment
   * ago): this is that split, which holds the last message recorded, and nothing was closed now.
   */
  closed_now: boolean;
}

/** The recorder (component `recorder`). */
export interface RecorderService {
  /**
   * Closes the split being recorded now (rosbag2's `~/split_bagfile`) and resolves once it is listed in
   * metadata.yaml and handed to the lakehouse. When nothing was recorded since the last split closed, it
   * resolves that split (`closed_now: false`) once it is handed over; undefined when the bag being
   * recorded has no message yet. Rejects with statusCode 409 when the recorder is not recording (disk full, failed).
   */
  split(): Promise<ClosedSplit | undefined>;
  /** Stops writing messages, keeping the bag open (rosbag2's `~/pause`); they are counted as not recorded. */
  pause(): PauseState;
  /** Records again (rosbag2's `~/resume`). */
  resume(): PauseState;
  pauseState(): Omit<PauseState, 'changed'>;
}

/** Whether the recorder is paused; `not_recorded`: messages not recorded in the current (or the last) pause. */
export interface PauseState {
  paused: boolean;
  since_ns: string | null;
  not_recorded: number;
  /** Whether this call changed it (a pause of a paused recorder does not). */
  changed: boolean;
}

/** A snapshot bag written: absolute paths, times in ns since the epoch (decimal). */
export interface SnapshotBag {
  /** The bag directory, `<data_dir>/bags/snapshot_<date>-<time>`. */
  bag: string;
  /** Its one MCAP split. */
  file: string;
  messages: number;
  /** Log time of the first and the last message. */
  start_ns: string;
  end_ns: string;
  /** Messages per topic. */
  topics: Record<string, number>;
}

/** A snapshot as a trigger gets it. */
export interface TakenSnapshot extends SnapshotBag {
  /** True when the trigger came while another trigger's snapshot was being written, and got that bag. */
  joined: boolean;
}

/**
 * The snapshot recorder (component `snapshot`): rosbag2's `~/snapshot` service. `snapshot()` writes what
 * the buffer holds to a new bag and resolves once it is closed, renamed into place and handed to the
 * lakehouse; undefined when the buffer holds no message. Rejects with the error (its errno code kept:
 * ENOSPC for a full disk) when the bag could not be written; the buffer is kept.
 */
export interface SnapshotService {
  snapshot(): Promise<TakenSnapshot | undefined>;
}

/** Whether a recorded split is in the lakehouse's catalog yet, as `LakehouseService.splitIndexing` finds it. */
export type SplitIndexing =
  | { state: 'indexed' }
  | { state: 'failed'; error: string; retry_in_ms: number }
  | { state: 'pending'; reason: string }
  | { state: 'off'; reason: string };

export type { MetricFamily };

/** Implemented by components that have metrics of their own. */
export interface MetricsProvider {
  metrics(): MetricFamily[];
}
