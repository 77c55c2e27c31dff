import type { MetricFamily } from '../contract/index.ts';
import { counter, gauge } from '../util/index.ts';

/** What the lakehouse's metrics show, from its parts. */
export interface LakehouseFigures {
  segmentsIndexed: number;
  eventsIndexed: number;
  indexFailures: number;
  splitsFailed: number;
  /** Bags plus tables on disk, as retention last measured (0 before its first pass). */
  dataBytes: number;
  lowFreeSpace: boolean;
  deletedForSpace: number;
}

export function lakehouseMetrics(f: LakehouseFigures): MetricFamily[] {
  return [
    counter('auraison_lakehouse_segments_indexed_total', 'Bag segments indexed into the lakehouse.', f.segmentsIndexed),
    counter('auraison_lakehouse_events_indexed_total', 'Agent events written to the events table.', f.eventsIndexed),
    counter('auraison_lakehouse_index_failures_total', 'Failed attempts to index a recorded split.', f.indexFailures),
    gauge(
      'auraison_lakehouse_splits_failed',
      'Recorded splits whose indexing failed, waiting for a retry.',
      f.splitsFailed,
    ),
    gauge('auraison_data_bytes', 'Bags plus lakehouse tables on disk, as retention last measured.', f.dataBytes),
    gauge(
      'auraison_retention_low_free_space',
      '1 while retention deletes data to keep free space for the recorder, or cannot free enough.',
      f.lowFreeSpace ? 1 : 0,
    ),
    counter(
      'auraison_retention_free_space_deleted_total',
      'Files retention deleted to keep free space for the recorder.',
      f.deletedForSpace,
    ),
  ];
}
