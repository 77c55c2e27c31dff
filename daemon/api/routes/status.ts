import type { FastifyPluginAsync } from 'fastify';
import { NoQuery, readinessOf } from './health.ts';
import type { RouteContext } from './route-context.ts';

const STATUS_DOCS = {
  summary: "The daemon's status: components, topics with rates and drops, subscribers, queryables, readiness.",
  description:
    "`components.<name>` holds each component's state, reason and details (the API's `stop_url`, `mcp_url` and " +
    "`stop_listener` scheduling, the central link's refusals, the stop latch under `stop`).",
  reply:
    '{robot, pid, started_at, uptime_s, config_file, data_dir, components, topics, subscribers, queryables, ' +
    'actions, graph, last_reload, ..., readiness, journal: {last_seq}, api: {sse_clients, live_map_viewers}}',
};

/** GET /status: the daemon's status snapshot (components, topics, subscribers, queryables) and its readiness. */
export const statusRoutes: FastifyPluginAsync<RouteContext> = async (app, { ctx, settings, hub, live, freeBytes }) => {
  app.get('/status', { schema: { querystring: NoQuery, ...STATUS_DOCS } }, async () => {
    const status = ctx.daemonStatus();
    const readiness = await readinessOf({ ctx, settings, freeBytes }, status);
    return {
      ...status,
      readiness,
      journal: { last_seq: ctx.journal.lastSeq },
      api: { sse_clients: hub.clients, live_map_viewers: live.viewers },
    };
  });
};
