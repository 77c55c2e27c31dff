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
   * `source`: the channel the approval came through (default http, the operator's API); policy.approval says
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

/** What the operator's stop did (POST /stop, `auraison-edge stop`, the bus query `agent/stop`). */
export interface RobotHaltOutcome {
  /** The velocity topic the zero Twist went to. */
  topic: string;
  /** The motion skill that was driving the robot and was aborted (navigate_to, run_policy), or null. */
  aborted: string | null;
  /** The runs that had not ended, now cancelled. */
  cancelled: string[];
  /**
   * Why the cancels are not all journaled, or null: the journal refused them (a full disk) or has not
   * written them within the reply's wait (a stuck disk). The robot is stopped and the runs are ended in
   * this process all the same; after a restart a run comes back as last journaled (running: interrupted;
   * awaiting approval: waiting again).
   */
  journal_error: string | null;
  /**
   * The latch this stop engaged (agent.stop_latch), or null when stops do not latch: nothing the agent
   * governs moves the robot until a person releases it.
   */
  latched: HaltLatchState | null;
  /**
   * The other velocity topics the stop sent a zero command to: those `policy.velocity.topics` govern that
   * carry a Twist or a TwistStamped on the bus (set by the daemon's stop: POST /stop, agent/stop).
   */
  zeroed?: string[];
  /** The action goals in flight that the stop cancelled (the agent's, the API's, a bridge's). */
  goals?: string[];
}

/** A latched stop: who stopped the robot, why, and since when (ISO 8601). */
export type HaltLatchState = {
  by: string;
  reason: string | null;
  since: string;
  /** False while (or when) the latch file could not be written: a restart would then not find it. */
  persisted: boolean;
  /** Why the latch file could not be written or read, or null. */
  error: string | null;
};

/** Who stopped the robot, and why: an operator's stop (POST /stop, `auraison-edge stop`, agent/stop). */
export interface HaltOrder {
  by: string;
  reason: string | undefined;
}

/** What a stop hook reports of what it ended after the stop's tick: for the reply and the journal. */
export interface HaltHookReport {
  /** Runs it cancelled (the agent). */
  cancelled?: readonly string[];
  /** Action goals it cancelled. */
  goals?: readonly string[];
  /** What did not go as it should (a journal that refused the cancels): the reply's journal_error. */
  problems?: readonly string[];
}

/**
 * What a hook did in the stop's own tick: the motion it aborted, the velocity topics it zeroed itself (the
 * agent's gate, which also drops the Twists still queued), a zero it could not send, and a promise of what it
 * ends after the tick.
 */
export interface HaltHookOutcome {
  aborted?: string | null;
  zeroed?: readonly string[];
  zeroError?: Error;
  settled?: Promise<HaltHookReport>;
}

/**
 * Told of every operator's stop, in the stop's own tick, before the zero commands and the latch: whatever
 * drives the robot (the agent's motion skill, a control loop, an action client, the sim's main job, a
 * Foxglove teleop) ends its drive there. It must not wait; what it ends later goes in `settled`.
 */
export type HaltHook = (order: HaltOrder) => HaltHookOutcome | void;

/** The daemon's one latch, as those who obey it see it. */
export interface HaltLatchView {
  readonly path: string;
  readonly enabled: boolean;
  /** The latch, or undefined when the robot may move. */
  readonly state: HaltLatchState | undefined;
  /** Why a motion is refused now, or undefined when the robot may move. */
  refusal(): string | undefined;
}

/**
 * The one owner of the operator's stop (safety/StopAuthority), handed to every component as
 * ComponentContext.haltAuthority: whoever stops the robot calls `halt`, whoever drives it registers `onStop` and
 * obeys `latch`.
 */
export interface RobotHaltAuthority {
  readonly latch: HaltLatchView;
  readonly counters: { stops: number; releases: number };
  /** `offLoop`: the stop came in on the stop listener's thread, which already sent these zero commands. */
  halt(by: string, reason?: string, offLoop?: OffLoopHalt): Promise<RobotHaltOutcome>;
  release(by: string, since?: string): Promise<HaltReleaseOutcome>;
  onHalt(name: string, hook: HaltHook): () => void;
  /** Reads the latch file (at start): a stop latched before it holds from now on. */
  load(): { latched: HaltLatchState | undefined; ignored: string | undefined };
  /**
   * The stop line's shared memory (safety/StopLine): a thread that drives the robot reads it every tick, and
   * holds its commands from the moment a stop comes in, without a message from the main thread.
   */
  readonly stopLine: SharedArrayBuffer;
  /**
   * Sets (undefined: removes) the zero command `name` that the stop listener's thread sends itself, not
   * waiting for the main thread: an adapter's own session to its graph (the Zenoh bridge's).
   */
  setOffLoopZero(name: string, zero: OffLoopZero | undefined): void;
  /** The off-loop zero commands now set, and a listener told of every change; returns what unlistens. */
  offLoopZeros(listener?: (zeros: ReadonlyMap<string, OffLoopZero>) => void): {
    zeros: ReadonlyMap<string, OffLoopZero>;
    unlisten: () => void;
  };
  /**
   * Whether a thread takes stops off the main loop now (a stop listener listens to offLoopZeros), and a listener
   * told of each change: a door that thread can serve itself (the Zenoh graph's agent/stop) is served there while
   * it does, and on the main loop while it does not. Returns what unlistens.
   */
  offLoopTaker(listener: (present: boolean) => void): { present: boolean; unlisten: () => void };
}

/**
 * A zero command sent from the stop listener's thread: the module it loads there (a file: URL of a module whose
 * `openOffLoopZero(options, log, take)` returns an OffLoopZeroSender) and the options it is given (structured-cloned).
 * `take` is the thread's own stop, for a module that also takes stops there (the Zenoh graph's agent/stop).
 */
export interface OffLoopZero {
  module: string;
  options: unknown;
}

/**
 * The stop listener's stop, as its thread takes it: counted on the stop line, posted to the main thread (which
 * takes the daemon's stop once), and the off-loop zero commands sent; resolves with when, and what they did.
 */
export type OffLoopTake = (order: {
  by: string;
  reason: string | null;
}) => Promise<{ at: string; zeroed: string[]; failed: Record<string, string> }>;

/** What a loaded off-loop zero command does, on the stop listener's thread. */
export interface OffLoopZeroSender {
  /** Sends the zero command; resolves with the topics it went to, or rejects saying why it could not. */
  zero(): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * A stop the stop listener's thread took: when, and what its zero commands did. The main thread hears of it at
 * once, while the thread's zero commands may still be on their way (`zeroes`).
 */
export interface OffLoopHalt {
  /** When the listener took it: ns since the epoch, as a decimal string. */
  at: string;
  /** What the thread's zero commands did, by name (`line`, `zenoh /cmd_vel`): sent, or why not. */
  zeroes: Promise<{ zeroed: string[]; failed: Record<string, string> }>;
}

/** What releasing the latch did: whether one was held, and which. */
export interface HaltReleaseOutcome {
  released: boolean;
  latch: HaltLatchState | null;
}

/**
 * The agent's stop: stops the robot at once, whatever the journal or the model is doing, and ends every run;
 * with agent.stop_latch it holds until `releaseStop`.
 */
export interface RobotHaltService {
  halt(by: string, reason?: string): Promise<RobotHaltOutcome>;
  /** `since`: the latch the releaser was shown; a newer one is not released (StopLatchConflict). */
  releaseHalt(by: string, since?: string): Promise<HaltReleaseOutcome>;
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
