import type { MetricFamily } from '../contract/index.ts';

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
    {
      name: 'auraison_lakehouse_segments_indexed_total',
      help: 'Bag segments indexed into the lakehouse.',
      type: 'counter',
      samples: [{ value: f.segmentsIndexed }],
    },
    {
      name: 'auraison_lakehouse_events_indexed_total',
      help: 'Agent events written to the events table.',
      type: 'counter',
      samples: [{ value: f.eventsIndexed }],
    },
    {
      name: 'auraison_lakehouse_index_failures_total',
      help: 'Failed attempts to index a recorded split.',
      type: 'counter',
      samples: [{ value: f.indexFailures }],
    },
    {
      name: 'auraison_lakehouse_splits_failed',
      help: 'Recorded splits whose indexing failed, waiting for a retry.',
      type: 'gauge',
      samples: [{ value: f.splitsFailed }],
    },
    {
      name: 'auraison_data_bytes',
      help: 'Bags plus lakehouse tables on disk, as retention last measured.',
      type: 'gauge',
      samples: [{ value: f.dataBytes }],
    },
    {
      name: 'auraison_retention_low_free_space',
      help: '1 while retention deletes data to keep free space for the recorder, or cannot free enough.',
      type: 'gauge',
      samples: [{ value: f.lowFreeSpace ? 1 : 0 }],
    },
    {
      name: 'auraison_retention_free_space_deleted_total',
      help: 'Files retention deleted to keep free space for the recorder.',
      type: 'counter',
      samples: [{ value: f.deletedForSpace }],
    },
  ];
}
