import type { MetricFamily } from '../contract/index.ts';
import type { RecordingStatus } from './recording-state.ts';
import { counter, counterBy, gauge } from '../util/index.ts';

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
    counterBy('auraison_recorder_messages_total', 'Messages written to bags, per topic.', 'topic', written),
    counterBy(
      'auraison_recorder_dropped_total',
      'Messages the recorder dropped (queue overflow, disk backlog, disk full), per topic.',
      'topic',
      drops,
    ),
    gauge('auraison_recorder_pending_bytes', 'Bytes accepted but not yet written to disk.', pendingBytes),
    gauge(
      'auraison_recorder_disk_full',
      '1 while recording is stopped for lack of disk space.',
      status === 'disk_full' ? 1 : 0,
    ),
    gauge(
      'auraison_recorder_paused',
      '1 while recording is paused (bag pause); messages meanwhile are not recorded, and are no drops.',
      paused ? 1 : 0,
    ),
    counter(
      'auraison_recorder_not_recorded_paused_total',
      'Messages not recorded because recording was paused.',
      notRecordedWhilePaused,
    ),
    gauge(
      'auraison_recorder_failed',
      '1 while recording is stopped by an I/O error and waits to retry.',
      status === 'failed' ? 1 : 0,
    ),
  ];
}
