export * from './schemas.ts';
export { AgentEventRecord, NotedEvent } from './agent-event-record.ts';
export * from './policy-hook.ts';
export {
  AGENT_EVENT,
  RUN_STATE,
  SERVICE_NAMES,
  type RobotHaltAuthority,
  type OffLoopHalt,
  type OffLoopTake,
  type OffLoopZero,
  type OffLoopZeroSender,
  type HaltHook,
  type HaltHookOutcome,
  type HaltHookReport,
  type HaltLatchView,
  type HaltOrder,
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
  type RobotHaltOutcome,
  type RobotHaltService,
  type SnapshotBag,
  type SnapshotService,
  type SplitIndexing,
  type HaltLatchState,
  type HaltReleaseOutcome,
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
export { agentEventsOf } from './agent-events-of.ts';
export { lastHeld, relayMetricFamilies, type RelayFigures } from './relay-figures.ts';
export {
  TENSOR_ENCODING,
  TensorCodecError,
  decodeTensors,
  encodeError,
  encodeTensors,
  imageFromJson,
  quoted,
  tensorFromJson,
  tensorToJson,
  withoutLeadingOnes,
  type NamedTensor,
  type TensorImage,
  type TensorMessage,
} from './tensor-codec.ts';
