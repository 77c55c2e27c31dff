import {
  isAgentService,
  type PolicyHooksProvider,
  isSnapshotService,
  type AgentService,
  type LakehouseService,
  type RecorderService,
  type SnapshotService,
} from './services.ts';
import type { Intent } from './schemas.ts';

/**
 * A service one component offers the others, typed: its name (for messages) and the check that a component offers
 * it. Which components provide it is what their specs declare (ComponentSpec.provides), never a name written here. A
 * component that cannot work without one declares it in its spec's `needs`: the supervisor resolves it before it
 * creates the component and hands it over typed, or refuses to start it, saying which component to enable. One it
 * can do without it declares in `uses`, and asks ComponentContext.ports for at call time: the provider may be
 * restarting, disabled or failed, and the consumer degrades.
 */
export interface Port<T> {
  readonly name: string;
  is(value: unknown): value is T;
}

export function port<T>(name: string, is: (value: unknown) => value is T): Port<T> {
  return { name, is };
}

/** The running providers of ports, resolved at each call (see Port). */
export interface Ports {
  /** The first running provider of `port`, or undefined. */
  get<T>(port: Port<T>): T | undefined;
  /** Every running provider of `port`, in start order. */
  all<T>(port: Port<T>): T[];
}

const has =
  <T>(...methods: string[]) =>
  (value: unknown): value is T =>
    value !== null &&
    typeof value === 'object' &&
    methods.every((m) => typeof (value as Record<string, unknown>)[m] === 'function');

/** What a recorder has open now (the files and bags retention and the lakehouse leave alone). */
export interface RecordingActivity {
  active(): { files: string[]; bags: string[]; closing: string[] };
}

/** Indexes a split once it is closed (the recorder and the snapshotter tell it). */
export interface SplitIndexer {
  indexRecordedSplit(file: string, bagDir: string): void;
}

/** What the central component offers for bulk sync (central-link/central-link.ts). */
export interface SyncService {
  syncStatus(): Record<string, unknown> | undefined;
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

/** A component that listens somewhere (the API, the Foxglove bridge): its address once it does. */
export interface Listening {
  readonly url: string | undefined;
}

const isListening = (value: unknown): value is Listening =>
  value !== null && typeof value === 'object' && 'url' in value;

/** The ports the daemon's own parts offer each other. */
export const PORTS = {
  agent: port<AgentService>('the agent', isAgentService),
  externalRuns: port<ExternalRuns>('the run store', has('openExternalRun')),
  policyHooks: port<PolicyHooksProvider>('the policy hooks', has('policyHooks')),
  recorder: port<RecorderService>('the recorder', has('split', 'pause', 'resume')),
  recorderBags: port<{ readonly bags: readonly string[] }>("the recorder's bags", (v): v is { bags: string[] } =>
    Array.isArray((v as { bags?: unknown } | undefined)?.bags),
  ),
  recording: port<RecordingActivity>('what is being recorded', has('active')),
  snapshot: port<SnapshotService>('the snapshot recorder', isSnapshotService),
  lakehouse: port<LakehouseService>('the lakehouse', has('query')),
  splitIndexer: port<SplitIndexer>('the lakehouse indexer', has('indexRecordedSplit')),
  sync: port<SyncService>('bulk sync', has('syncStatus', 'pauseSync')),
  api: port<Listening>('the local API', isListening),
  foxglove: port<Listening>('the Foxglove bridge', isListening),
} as const;
