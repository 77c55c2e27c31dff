import type { MetricFamily } from '../contract/index.ts';
import type { RecordingStatus } from './recording-state.ts';

/** What the recorder's metrics are made of. */
export interface RecorderCounts {
  /** Messages written per topic (topics let go while quiet leave it). */
  written: ReadonlyMap<string, number>;
  /** Messages dropped per topic: queue overflow on the bus plus the recorder's own drops. */
  drops: Record<string, number>;
  /** Bytes accepted but not yet written to disk. */
  pendingBytes: number;
  status: RecordingStatus;
  paused: boolean;
  /** Messages not recorded because recording was paused (not drops). */
  notRecordedWhilePaused: number;
}

export function recorderMetrics({
  written,
  drops,
  pendingBytes,
  status,
  paused,
  notRecordedWhilePaused,
}: RecorderCounts): MetricFamily[] {
  return [
    {
      name: 'auraison_recorder_messages_total',
      help: 'Messages written to bags, per topic.',
      type: 'counter',
      samples: [...written].map(([topic, value]) => ({ labels: { topic }, value })),
    },
    {
      name: 'auraison_recorder_dropped_total',
      help: 'Messages the recorder dropped (queue overflow, disk backlog, disk full), per topic.',
      type: 'counter',
      samples: Object.entries(drops).map(([topic, value]) => ({ labels: { topic }, value })),
    },
    {
      name: 'auraison_recorder_pending_bytes',
      help: 'Bytes accepted but not yet written to disk.',
      type: 'gauge',
      samples: [{ value: pendingBytes }],
    },
    {
      name: 'auraison_recorder_disk_full',
      help: '1 while recording is stopped for lack of disk space.',
      type: 'gauge',
      samples: [{ value: status === 'disk_full' ? 1 : 0 }],
    },
    {
      name: 'auraison_recorder_paused',
      help: '1 while recording is paused (bag pause); messages meanwhile are not recorded, and are no drops.',
      type: 'gauge',
      samples: [{ value: paused ? 1 : 0 }],
    },
    {
      name: 'auraison_recorder_not_recorded_paused_total',
      help: 'Messages not recorded because recording was paused.',
      type: 'counter',
      samples: [{ value: notRecordedWhilePaused }],
    },
    {
      name: 'auraison_recorder_failed',
      help: '1 while recording is stopped by an I/O error and waits to retry.',
      type: 'gauge',
      samples: [{ value: status === 'failed' ? 1 : 0 }],
    },
  ];
}
