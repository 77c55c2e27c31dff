export { lakehousePaths, withCatalog } from './catalog.ts';
export { indexEvents } from './events-indexer.ts';
export { flattenColumns, type FlatColumn } from './flatten.ts';
export { importBag, projectionTable, type ImportOptions, type ImportReport, type UnknownType } from './importer.ts';
export { Lakehouse, type LakehouseOptions } from './lakehouse.ts';
export { queryLakehouse, QueryRefused, type QueryResult } from './query.ts';
export { applyRetention, type RetentionReport, type RetentionSettings } from './retention.ts';
