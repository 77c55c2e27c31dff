import type { FastifyPluginAsync } from 'fastify';
import type { MetricFamily, MetricsProvider } from '../../contract/index.ts';
import { daemonMetrics, runMetrics } from '../daemon-metrics.ts';
import { renderPrometheus } from '../prometheus.ts';
import { findAgent } from '../services.ts';
import { NoQuery } from './health.ts';
import type { RouteContext } from './route-context.ts';
import { errorText, gauge } from '../../util/index.ts';

const METRICS_DOCS = {
  summary:
    'Prometheus text format (0.0.4): the bus, subscribers, components, journal, runs, the API and every component that has metrics.',
  description:
    '`auraison_runs{status}` counts the runs the agent holds, `auraison_agent_runs{status}` those in the journal. A ' +
    "component whose metrics throw shows as `auraison_metrics_errors{component}`; the others' still come.",
  reply: 'text/plain; version=0.0.4',
};

/**
 * GET /metrics in the Prometheus text format: the bus and subscribers, components, the journal, runs by
 * status, the API's own figures, and the families of every component that implements MetricsProvider
 * (recorder, control loops, inference, sync).
 */
export const metricsRoutes: FastifyPluginAsync<RouteContext> = async (app, { ctx, hub, live, metrics, memory }) => {
  app.get('/metrics', { schema: { querystring: NoQuery, ...METRICS_DOCS } }, async (_request, reply) => {
    const families: MetricFamily[] = [
      ...daemonMetrics(ctx.daemonStatus(), memory.get()),
      gauge('auraison_journal_last_seq', 'Seq of the last record in the durable journal.', ctx.journal.lastSeq),
      ...metrics.families(),
      ...hub.metrics(),
      ...live.metrics(),
    ];
    const agent = findAgent(ctx);
    if (agent) families.push(runMetrics(agent));
    for (const [name, component] of ctx.components) {
      if (!hasMetrics(component)) continue;
      try {
        families.push(...component.metrics());
      } catch (error) {
        // One component's broken metrics must not hide everyone else's; the failure is itself a metric.
        families.push({
          name: 'auraison_metrics_errors',
          help: 'Components whose metrics() threw on this scrape.',
          type: 'gauge',
          samples: [{ labels: { component: name }, value: 1 }],
        });
        ctx.log.warn({ component: name, err: errorText(error) }, 'metrics() failed');
      }
    }
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(renderPrometheus(families));
  });
};

export function hasMetrics(value: unknown): value is MetricsProvider {
  return typeof (value as MetricsProvider | undefined)?.metrics === 'function';
}
