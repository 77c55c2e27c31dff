import type { FastifyPluginAsync } from 'fastify';
import Type from 'typebox';
import { checkReadiness } from '../readiness.ts';
import type { RouteContext } from './route-context.ts';

export const NoQuery = Type.Object({}, { additionalProperties: false });

/** GET /healthz (liveness: the process answers) and GET /readyz (named checks; 503 when not ready). */
export const healthRoutes: FastifyPluginAsync<RouteContext> = async (app, { ctx, settings }) => {
  app.get('/healthz', { schema: { querystring: NoQuery } }, async () => ({ status: 'ok', uptime_s: Math.round(process.uptime()) }));

  app.get('/readyz', { schema: { querystring: NoQuery } }, async (_request, reply) => {
    const readiness = await checkReadiness({ status: ctx.daemonStatus(), dataDir: ctx.dataDir, minFreeBytes: settings.ready.min_free_bytes });
    return reply.code(readiness.ready ? 200 : 503).send(readiness);
  });
};
