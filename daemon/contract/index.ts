export { newId, UUID_PATTERN } from './ids.ts';
export { nowNs, nsFromJson, nsToJson, nsToRosTime, rosTimeToNs } from './time.ts';
export * from './schemas.ts';
export { AgentEventRecord, agentEventsOf, NotedEvent } from './agent-event-record.ts';
export * from './policy-hook.ts';
export { formatIssue, formatPath, ValidationError, Validator, type ValidationIssue } from './validate.ts';
export { jsonHazard } from './json-hazards.ts';
export { addressesRobot, misdirection } from './intent-targets.ts';
export {
  AGENT_EVENT,
  RUN_STATE,
  SERVICE_NAMES,
  hasMetrics,
  isJournalHolder,
  isJournalSyncHolder,
  type RobotStopAuthority,
  type OffLoopStop,
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
  counter,
  gauge,
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
} from './tensor-codec.ts';
export { nsToIso } from './time.ts';
export { issuesIn } from './validate.ts';
export { PORTS, type Listening, type Port, type Ports, type Provide, type RecordingActivity } from './ports.ts';
export type { ExternalRun, ExternalRuns, ExternalRunStatus, SplitIndexer, SyncService } from './ports.ts';
export type { BudgetStats, CurrentUpload, PausedBy, SyncPriority, SyncStatus } from './sync-status.ts';
export { relayMetricFamilies, type RelayFigures } from './relay-figures.ts';
