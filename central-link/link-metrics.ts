import type { MetricFamily } from '../daemon/contract/index.ts';
import { counter, gauge } from '../daemon/util/index.ts';
import type { RefusalReport } from './link-refusals.ts';
import type { MqttConnection } from './mqtt-connection.ts';
import type { Outbox } from './outbox.ts';
import type { BudgetStats } from './sync/budget.ts';
import type { SyncStatus } from './sync/sync-manager.ts';
import { syncMetrics } from './sync/sync-metrics.ts';

/** What the link's metrics read: its parts' counters, as they are now. */
export interface LinkMetricsView {
  online: boolean;
  connection: Pick<MqttConnection, 'connects' | 'connectionFailures'>;
  outbox: Pick<Outbox, 'backlog' | 'ackedSeq' | 'counts'>;
  intents: Record<string, number>;
  configs: Record<string, number>;
  heartbeats: number;
  heartbeatsSkipped: number;
  ackFailures: number;
  /** The signature check's counts: verified, unchecked and each refusal code. */
  signatures: Record<string, number>;
  refused: RefusalReport;
  sync: SyncStatus | undefined;
  budget: BudgetStats;
}

/** The central link's metrics (`auraison_central_*`), bulk sync's and the link budget's (`auraison_sync_*`). */
export function linkMetrics(view: LinkMetricsView): MetricFamily[] {
  const { connection, outbox, refused } = view;
  const byLabel = (label: string, counts: Record<string, number>) =>
    Object.entries(counts).map(([value, n]) => ({ labels: { [label]: value }, value: n }));
  return [
    gauge(
      'auraison_central_connected',
      '1 while the MQTT link to central is up (connected and subscribed).',
      view.online ? 1 : 0,
    ),
    counter(
      'auraison_central_connects_total',
      'Connections to the broker made (CONNACK accepted).',
      connection.connects,
    ),
    counter(
      'auraison_central_connection_failures_total',
      'Connection attempts that failed (unreachable, refused, timed out).',
      connection.connectionFailures,
    ),
    gauge(
      'auraison_central_outbox_backlog_records',
      'Journal records the broker has not acknowledged yet.',
      outbox.backlog,
    ),
    gauge(
      'auraison_central_outbox_acked_seq',
      'Every journal record up to this seq was acknowledged by the broker.',
      outbox.ackedSeq,
    ),
    counter(
      'auraison_central_outbox_published_records_total',
      'Journal records published on the events topic (a record sent again counts again).',
      outbox.counts.published_records,
    ),
    counter(
      'auraison_central_outbox_lost_records_total',
      'Journal records gone before central got them (retention past journal.max_mb, a damaged segment).',
      outbox.counts.lost_records,
    ),
    counter(
      'auraison_central_outbox_refused_batches_total',
      'Events batches the broker did not take (sent again).',
      outbox.counts.refused_batches,
    ),
    counter(
      'auraison_central_outbox_resent_records_total',
      'Journal records sent again because central asked for them (lost between the broker and central).',
      outbox.counts.resent_records,
    ),
    {
      name: 'auraison_central_intents_total',
      help: 'Intents from central by outcome.',
      type: 'counter',
      samples: byLabel('outcome', view.intents),
    },
    {
      name: 'auraison_central_configs_total',
      help: 'Configs from central by outcome (applied, duplicate, refused, failed).',
      type: 'counter',
      samples: byLabel('outcome', view.configs),
    },
    counter('auraison_central_heartbeats_total', 'Heartbeats published.', view.heartbeats),
    {
      name: 'auraison_central_rate_limited_total',
      help: 'Commands from the link refused past central.rate_limits, by kind.',
      type: 'counter',
      samples: byLabel('kind', refused.rate_limited),
    },
    counter(
      'auraison_central_heartbeats_skipped_total',
      "Heartbeats not sent: the one before still waited for the broker's PUBACK.",
      view.heartbeatsSkipped,
    ),
    counter('auraison_central_ack_failures_total', 'Acks that could not be published.', view.ackFailures),
    {
      name: 'auraison_central_command_signatures_total',
      help: "Commands from the link by central's signature: verified, unchecked (taken by the file's opt-out), or refused by reason.",
      type: 'counter',
      samples: byLabel('outcome', view.signatures),
    },
    {
      name: 'auraison_central_refused_commands_total',
      help: 'Every command the link refused, by reason: a signature refusal code, rate_limited_<kind>, grant_origin (a grant to storage not pinned), stored (a stored for a file not uploaded).',
      type: 'counter',
      samples: byLabel('reason', {
        ...refused.signature,
        ...Object.fromEntries(Object.entries(refused.rate_limited).map(([kind, n]) => [`rate_limited_${kind}`, n])),
        grant_origin: refused.grants,
        stored: refused.stored,
      }),
    },
    ...syncMetrics(view.sync, view.budget),
  ];
}
