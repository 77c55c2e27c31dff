import type {
  AgentService,
  LakehouseService,
  PolicyHooksProvider,
  RecorderService,
  SnapshotService,
} from './services.ts';
import type { Intent } from './schemas.ts';
import type { SyncStatus } from './sync-status.ts';

/** Only a type: the service a port carries, so the compiler checks what is provided and what is asked for. */
declare const SERVICE: unique symbol;

/**
 * A service one component offers the others, typed: its name (for messages) and, for the compiler, the type of what
 * its providers register. Which components provide it is what their specs declare (ComponentSpec.provides), and each
 * registers the object that serves it when it is created (ComponentContext.provide), so a consumer gets exactly that
 * object, typed, and nothing is looked up by method names. A component that cannot work without one declares it in
 * its spec's `needs`: the supervisor resolves it before it creates the component and hands it over typed, or refuses
 * to start it, saying which component to enable. One it can do without it declares in `uses`, and asks
 * ComponentContext.ports for at call time: the provider may be restarting, disabled or failed, and the consumer
 * degrades.
 */
export interface Port<T> {
  readonly name: string;
  readonly [SERVICE]?: T;
}

/** The running providers of ports, resolved at each call (see Port). */
export interface Ports {
  /** What the first running provider of `port` registered for it, or undefined. */
  get<T>(port: Port<T>): T | undefined;
  /** What every running provider of `port` registered for it, in start order. */
  all<T>(port: Port<T>): T[];
}

/**
 * Registers `service` as what its component offers under `port` (see Port). The service's type must be the port's:
 * NoInfer, so a service missing a method is refused rather than widening the port's type to fit it.
 */
export type Provide = <T>(port: Port<T>, service: NoInfer<T>) => void;

/** What a recorder has open now (the files and bags retention and the lakehouse leave alone). */
export interface RecordingActivity {
  active(): { files: string[]; bags: string[]; closing: string[] };
}

/** Indexes a split once it is closed (the recorder and the snapshotter tell it). */
export interface SplitIndexer {
  /**
   * `byStop`: the recorder closed it as it stopped. When the daemon stops, the lakehouse stops next and leaves that
   * split to its next start, as it must, without a warning.
   */
  indexRecordedSplit(file: string, bagDir: string, byStop?: boolean): void;
}

/** What the central component offers for bulk sync (central-link/central-link.ts). */
export interface SyncService {
  syncStatus(): SyncStatus | undefined;
  /**
   * Resolves once the pause is written (it lasts across restarts); false without bulk sync. `central` (resume):
   * central's pause is lifted too.
   */
  pauseSync(paused: boolean, reason?: string, central?: boolean): Promise<boolean>;
}

/** How an external run ends (see ExternalRun): terminal, since nothing in it acts. */
export type ExternalRunStatus = 'succeeded' | 'failed';

/**
 * A run for what an intake did or refused outside the agent's own runs (an MCP session's reads of the API, its
 * calls refused past the client's rate or to tools the gateway does not expose), so `runs` and central show what
 * an outside agent did. Ended from the start: nothing of it acts, so the operator's stop has nothing to cancel
 * and a restart nothing to interrupt; its events grow while the calls come, and its status and reason are
 * rewritten with their summary at the end.
 */
export interface ExternalRun {
  readonly runId: string;
  /** Journals calls as the run's events. */
  note(events: readonly { kind: string; payload: Record<string, unknown> }[]): Promise<void>;
  /** Journals the run's final status and reason, summing up its calls. */
  end(status: ExternalRunStatus, reason: string): Promise<void>;
}

/** Opens external runs (the agent, whose run store is the one record of runs). */
export interface ExternalRuns {
  /** A run for `intent` (who, through what) under `treeRef`, `status` and `reason` until it ends; durable. */
  openExternalRun(intent: Intent, treeRef: string, status: ExternalRunStatus, reason: string): Promise<ExternalRun>;
}

/** Why a loop was not started: no such autostart loop, the stop is latched, or a stop without a latch ended it. */
export type LoopStartRefusal = 'unknown_loop' | 'latched' | 'stopped';

/** What an operator's start of a loop did. */
export interface LoopStart {
  ok: boolean;
  started: boolean;
  message: string;
  refused?: LoopStartRefusal;
}

/** The control loops, for an operator's start after the stop's release (the control component). */
export interface LoopStarter {
  /**
   * Lets the autostart loop `name`, held since the operator's stop was released, drive again; refused while the stop
   * is latched. `started` is false where nothing held it; `refused` says why it was not, `message` in words.
   */
  startLoop(name: string): LoopStart;
}

/** A component that listens somewhere (the API, the Foxglove bridge): its address once it does. */
export interface Listening {
  readonly url: string | undefined;
}

/** A query's request or reply as the bus carries one: its encoding and its bytes. */
export interface QueryBytes {
  encoding: string;
  payload: Uint8Array;
}

/**
 * Queries to the robot's Zenoh graph through the daemon's Zenoh link (the Zenoh component): what a loop asks another
 * daemon's served policy through (`ai/inference/vla/<policy>`).
 */
export interface GraphQueries {
  /** Why the link is not up now, or undefined while it is. */
  down(): string | undefined;
  /**
   * The first reply to a query of `key`, or undefined when none came within `timeoutMs` (nothing on the graph answers
   * the key, or not in time); rejects when the link is down or the queryable answers an error (with its text).
   */
  query(key: string, request: QueryBytes, options: { timeoutMs: number }): Promise<QueryBytes | undefined>;
}

/** The ports the daemon's own parts offer each other. */
export const PORTS = {
  agent: { name: 'the agent' } as Port<AgentService>,
  externalRuns: { name: 'the run store' } as Port<ExternalRuns>,
  policyHooks: { name: 'the policy hooks' } as Port<PolicyHooksProvider>,
  recorder: { name: 'the recorder' } as Port<RecorderService>,
  recorderBags: { name: "the recorder's bags" } as Port<{ readonly bags: readonly string[] }>,
  recording: { name: 'what is being recorded' } as Port<RecordingActivity>,
  snapshot: { name: 'the snapshot recorder' } as Port<SnapshotService>,
  lakehouse: { name: 'the lakehouse' } as Port<LakehouseService>,
  splitIndexer: { name: 'the lakehouse indexer' } as Port<SplitIndexer>,
  sync: { name: 'bulk sync' } as Port<SyncService>,
  loops: { name: 'the control loops' } as Port<LoopStarter>,
  api: { name: 'the local API' } as Port<Listening>,
  foxglove: { name: 'the Foxglove bridge' } as Port<Listening>,
  graphQueries: { name: "the Zenoh link's queries" } as Port<GraphQueries>,
} as const;
