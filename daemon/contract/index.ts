export * from './schemas.ts';
export { AgentEventRecord, NotedEvent } from './agent-event-record.ts';
export * from './policy-hook.ts';
export {
  AGENT_EVENT,
  RUN_STATE,
  SERVICE_NAMES,
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
  type SnapshotBag,
  type SnapshotService,
  type SplitIndexing,
  type SubmittedIntent,
  type TakenSnapshot,
} from './services.ts';
export type {
  HaltHook,
  HaltHookOutcome,
  HaltHookReport,
  HaltLatchState,
  HaltRepeats,
  HaltLatchView,
  HaltOrder,
  HaltReleaseOutcome,
  HaltTick,
  OffLoopHalt,
  OffLoopTake,
  OffLoopZero,
  OffLoopZeroSender,
  RobotHaltAuthority,
  RobotHaltOutcome,
  RobotHaltService,
} from './halt.ts';
export { latchText } from './halt.ts';
export { PORTS, type Listening, type Port, type Ports, type Provide, type RecordingActivity } from './ports.ts';
export type {
  ExternalRun,
  ExternalRuns,
  ExternalRunStatus,
  GraphQueries,
  LoopStart,
  LoopStarter,
  LoopStartRefusal,
  QueryBytes,
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
