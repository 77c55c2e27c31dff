import type { FastifyPluginAsync } from 'fastify';
import { checkReadiness } from '../readiness.ts';
import { NoQuery } from './health.ts';
import type { RouteContext } from './route-context.ts';

/** GET /status: the daemon's status snapshot (components, topics, subscribers, queryables) and its readiness. */
export const statusRoutes: FastifyPluginAsync<RouteContext> = async (app, { ctx, settings, hub, live }) => {
  app.get('/status', { schema: { querystring: NoQuery } }, async () => {
    const status = ctx.daemonStatus();
    const readiness = await checkReadiness({ status, dataDir: ctx.dataDir, minFreeBytes: settings.ready.min_free_bytes });
    return { ...status, readiness, journal: { last_seq: ctx.journal.lastSeq }, api: { sse_clients: hub.clients, live_map_viewers: live.viewers } };
  });
};
