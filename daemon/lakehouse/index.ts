export { lakehousePaths, withCatalog } from './catalog.ts';
export { indexEvents } from './events-indexer.ts';
export { flattenColumns, type FlatColumn } from './flatten.ts';
export { importBag } from './importer.ts';
export type { ImportOptions, ImportReport, UnknownType } from './import-types.ts';
export { projectionTable } from './projection.ts';
export { Lakehouse, type LakehouseOptions } from './lakehouse.ts';
export { queryLakehouse, QueryRefused, type QueryResult } from './query.ts';
export { QUERY_PRIORITY, QueryProcess, QueryProcessExited } from './query-process.ts';
export { applyRetention, type RetentionReport, type RetentionSettings } from './retention.ts';
export { rebaseCatalogPaths } from './catalog-rebase.ts';
export { CatalogLockedError } from './catalog.ts';
export { BATCH_ROWS, columnStore, resetStores } from './column-batch.ts';
export { compileColumnarDecoder } from './columnar-decoder.ts';
export { roomForMerge, type Room } from './compaction-job.ts';
export { compactLakehouse, type CompactionReport, type MergeReport } from './compaction.ts';
export { sweepStaging } from './housekeeping.ts';
export { oversizedLine } from './oversized.ts';
export type { LazyViews } from './query-views.ts';
export {
  defineViewsOver,
  openViews,
  streamLakehouse,
  topicViews,
  vanishedFile,
  type QueryColumn,
  type StreamSummary,
} from './query.ts';
export { syncRequired, type RecorderActivity } from './retention.ts';
export { quoteString } from './sql-text.ts';
export {
  findSyncFile,
  listSyncFiles,
  syncSummary,
  updateSyncFile,
  FINAL_STATES,
  SYNCED_STATES,
  type AckedPart,
  type SyncFile,
  type SyncFileKind,
  type SyncFilter,
  type SyncPatch,
  type SyncState,
  type SyncSummary,
} from './sync-files.ts';
export { registerSyncFiles } from './sync-register.ts';
export { sha256File } from './file-hash.ts';
export { trackConnection, type TrackedConnection } from './in-flight.ts';
