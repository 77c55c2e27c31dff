import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, { LogController, type FastifyInstance, type RawServerDefault } from 'fastify';
import type { Logger } from 'pino';
import { MessageCodec } from '../bus/codec.ts';
import type { ApiSettings } from '../config/sections/api.ts';
import type { ComponentContext } from '../lifecycle/component.ts';
import { ApiMetrics } from './api-metrics.ts';
import { makeAuthHook } from './auth.ts';
import { clientErrorHandler, makeErrorHandler } from './errors.ts';
import { useJsonBodies } from './json-body.ts';
import { LiveMapHub } from './live/live-map-hub.ts';
import { eventRoutes } from './routes/events.ts';
import { healthRoutes } from './routes/health.ts';
import { inferenceRoutes } from './routes/inference.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { pageRoutes } from './routes/page.ts';
import type { RouteContext } from './routes/route-context.ts';
import { queryRoutes } from './routes/query.ts';
import { runRoutes } from './routes/runs.ts';
import { statusRoutes } from './routes/status.ts';
import { typeboxValidatorCompiler } from './schema-compiler.ts';
import { SseHub } from './sse/sse-hub.ts';

export interface ApiServer {
  app: FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, Logger>;
  hub: SseHub;
  live: LiveMapHub;
  metrics: ApiMetrics;
  /** Ends the event streams, then stops taking requests. */
  close(): Promise<void>;
}

/**
 * The local HTTP API as a fastify instance (not yet listening): one plugin per concern, every route with a
 * TypeBox schema validated by the contract's validator, one error shape, the auth gate first.
 */
export async function buildApiServer(ctx: ComponentContext, settings: ApiSettings): Promise<ApiServer> {
  const log = ctx.log.child({ component: 'api' });
  const errorHandler = makeErrorHandler(log);
  const app = Fastify({
    bodyLimit: settings.body_limit_bytes,
    loggerInstance: log,
    logController: new LogController({ disableRequestLogging: true }),
    // SSE streams are ended by close(); other keep-alive sockets must not hold the shutdown up.
    forceCloseConnections: true,
    return503OnClosing: true,
    // Errors fastify and node answer before a route runs get the API's `{error, message}` body too.
    frameworkErrors: errorHandler,
    clientErrorHandler,
  });
  app.setValidatorCompiler(typeboxValidatorCompiler);
  useJsonBodies(app);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` });
  });
  app.addHook('onRequest', makeAuthHook({ host: settings.host, token: settings.token }));

  const metrics = new ApiMetrics();
  app.addHook('onResponse', async (request, reply) => {
    metrics.request(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
  });

  const { events } = settings;
  const hub = new SseHub({
    journal: ctx.journal,
    maxBufferedBytes: events.max_buffered_bytes,
    maxLag: events.max_lag,
    stallTimeoutMs: events.stall_timeout_s * 1000,
    heartbeatMs: events.heartbeat_s * 1000,
  });
  const codec = new MessageCodec(ctx.definitions);
  const live = new LiveMapHub({ bus: ctx.bus, codec, maxBufferedBytes: events.max_buffered_bytes, stallTimeoutMs: events.stall_timeout_s * 1000 });
  const routeContext: RouteContext = { ctx, settings, codec, hub, live, metrics };
  for (const plugin of [healthRoutes, statusRoutes, metricsRoutes, runRoutes, eventRoutes, queryRoutes, inferenceRoutes, pageRoutes]) {
    await app.register(plugin, routeContext);
  }
  return {
    app,
    hub,
    live,
    metrics,
    close: async () => {
      hub.close();
      live.close();
      await app.close();
    },
  };
}
