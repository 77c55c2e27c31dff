import type { MetricFamily } from '../../daemon/contract/index.ts';
import { counter, gauge } from '../../daemon/util/index.ts';
import type { BudgetStats } from './budget.ts';
import type { SyncStatus } from './sync-manager.ts';

/** Bulk sync's metrics (`auraison_sync_*`), and the link budget's, which events use without bulk sync too. */
export function syncMetrics(status: SyncStatus | undefined, budget: BudgetStats): MetricFamily[] {
  const families: MetricFamily[] = [
    gauge('auraison_sync_budget_bytes_per_s', 'The upload budget in force now (0: unlimited).', budget.bytes_per_s),
    {
      name: 'auraison_sync_budget_sent_bytes_total',
      help: 'Bytes the upload budget let through, by priority (control, events, bulk).',
      type: 'counter',
      samples: Object.entries(budget.sent).map(([priority, value]) => ({ labels: { priority }, value })),
    },
  ];
  if (!status) return families;
  return [
    ...families,
    gauge(
      'auraison_sync_files_awaiting',
      'Files central has not got yet (awaiting, offered, uploading, uploaded).',
      status.awaiting.files,
    ),
    gauge('auraison_sync_bytes_awaiting', 'Bytes of the files central has not got yet.', status.awaiting.bytes),
    {
      name: 'auraison_sync_files',
      help: 'Sync rows by state.',
      type: 'gauge',
      samples: Object.entries(status.states).map(([state, s]) => ({ labels: { state }, value: s.files })),
    },
    counter(
      'auraison_sync_bytes_sent_total',
      'File bytes uploaded to the storage central granted.',
      status.uploads.bytes_sent,
    ),
    counter('auraison_sync_uploads_done_total', 'Files central confirmed stored.', status.uploads.done),
    counter(
      'auraison_sync_uploads_failed_total',
      'Uploads that failed after their retries (offered again later).',
      status.uploads.failed,
    ),
    gauge(
      'auraison_sync_paused',
      '1 while bulk uploads are paused (here, by central, or outside the upload windows).',
      status.paused ? 1 : 0,
    ),
    gauge(
      'auraison_sync_lost_unreported',
      'Files lost before upload that central has not been told of yet.',
      status.unreported_lost,
    ),
  ];
}
