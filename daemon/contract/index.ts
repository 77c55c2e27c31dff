export * from './schemas.ts';
export { AgentEventRecord, NotedEvent } from './agent-event-record.ts';
export * from './policy-hook.ts';
export {
  AGENT_EVENT,
  RUN_STATE,
  SERVICE_NAMES,
  type RobotStopAuthority,
  type OffLoopStop,
  type OffLoopTake,
  type OffLoopZero,
  type OffLoopZeroSender,
  type StopHook,
  type StopHookOutcome,
  type StopHookReport,
  type StopLatchView,
  type StopOrder,
  type AgentService,
  type ClosedSplit,
  type Journal,
  type JournalEntry,
  type JournalHolder,
  type JournalRecord,
  type JournalSyncHolder,
  type LakehouseService,
  type MetricFamily,
  type MetricsProvider,
  type PauseState,
  type PolicyHooksProvider,
  type RecorderService,
  type RobotStopOutcome,
  type RobotStopService,
  type SnapshotBag,
  type SnapshotService,
  type SplitIndexing,
  type StopLatchState,
  type StopReleaseOutcome,
  type SubmittedIntent,
  type TakenSnapshot,
} from './services.ts';
export { PORTS, type Listening, type Port, type Ports, type Provide, type RecordingActivity } from './ports.ts';
export type {
  ExternalRun,
  ExternalRuns,
  ExternalRunStatus,
  LoopStart,
  LoopStarter,
  LoopStartRefusal,
  SplitIndexer,
  SyncService,
} from './ports.ts';
export type { BudgetStats, CurrentUpload, PausedBy, SyncPriority, SyncStatus } from './sync-status.ts';
export type { StatusFigure, StatusFigures } from './status-figures.ts';
