import type { FastifyPluginAsync } from 'fastify';
import { NoQuery, readinessOf } from './health.ts';
import type { RouteContext } from './route-context.ts';

/** GET /status: the daemon's status snapshot (components, topics, subscribers, queryables) and its readiness. */
export const statusRoutes: FastifyPluginAsync<RouteContext> = async (app, { ctx, settings, hub, live, freeBytes }) => {
  app.get('/status', { schema: { querystring: NoQuery } }, async () => {
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
