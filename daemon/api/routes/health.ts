import type { FastifyPluginAsync } from 'fastify';
import Type from 'typebox';
import type { DaemonStatus } from '../../lifecycle/index.ts';
import { checkReadiness, type Readiness } from '../readiness.ts';
import type { RouteContext } from './route-context.ts';

/** The daemon's readiness now, from its status snapshot and the API's settings. */
export function readinessOf(
  { ctx, settings, freeBytes }: Pick<RouteContext, 'ctx' | 'settings' | 'freeBytes'>,
  status: DaemonStatus = ctx.daemonStatus(),
): Promise<Readiness> {
  return checkReadiness({
    status,
    dataDir: ctx.dataDir,
    freeBytes: () => freeBytes.get(),
    minFreeBytes: settings.ready.min_free_bytes,
    modelConfigured: ctx.config.llm.endpoints.length > 0,
  });
}

export const NoQuery = Type.Object({}, { additionalProperties: false });

const READYZ_DOCS = {
  summary: 'Readiness as named checks. Needs no token.',
  description:
    'Checks: `bus`; `disk` (free space at least `api.ready.min_free_bytes`); `model_endpoint` (skipped when ' +
    '`llm.endpoints` is empty); `control_loops`; `adapter:<ros|zenoh|...>`; `component:<name>` for every other ' +
    'component; `central_link`, informational: it never makes the daemon unready.',
  reply: '{ready, checks: [{name, status: pass | warn | fail | skip, reason, informational?}]}',
  statuses: { 503: 'not ready: the same body, naming the failed checks' },
};

/** GET /healthz (liveness: the process answers) and GET /readyz (named checks; 503 when not ready). */
export const healthRoutes: FastifyPluginAsync<RouteContext> = async (app, routeContext) => {
  app.get(
    '/healthz',
    {
      schema: {
        querystring: NoQuery,
        summary: 'Liveness: the process answers. Needs no token.',
        reply: '{status: "ok", uptime_s}',
      },
    },
    async () => ({
      status: 'ok',
      uptime_s: Math.round(process.uptime()),
    }),
  );

  app.get('/readyz', { schema: { querystring: NoQuery, ...READYZ_DOCS } }, async (_request, reply) => {
    const readiness = await readinessOf(routeContext);
    return reply.code(readiness.ready ? 200 : 503).send(readiness);
  });
};
