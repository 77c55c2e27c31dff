import { statfs } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, { LogController, type FastifyInstance, type RawServerDefault, type RouteOptions } from 'fastify';
import type { Logger } from 'pino';
import { MessageCodec } from '../bus/index.ts';
import type { ApiSettings } from '../config/index.ts';
import type { ComponentContext } from '../lifecycle/index.ts';
import { within } from '../util/index.ts';
import { AllowedMethods } from './allowed-methods.ts';
import { ApiMetrics } from './api-metrics.ts';
import { makeAuthHook } from './auth.ts';
import { clientErrorHandler } from './client-error.ts';
import { makeCrossSiteHook } from './cross-site.ts';
import { apiErrorReply, makeErrorHandler } from './errors.ts';
import { useJsonBodies } from './json-body.ts';
import { LiveMapHub } from './live/live-map-hub.ts';
import { mcpRoutes, type ListenerHalts } from '../mcp/index.ts';
import { actionRoutes } from './routes/actions.ts';
import { controlRoutes } from './routes/control.ts';
import { eventRoutes } from './routes/events.ts';
import { healthRoutes } from './routes/health.ts';
import { inferenceRoutes } from './routes/inference.ts';
import { mapRoutes } from './routes/map.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { pageRoutes } from './routes/page.ts';
import type { RouteContext } from './routes/route-context.ts';
import { Sampled } from './sampled.ts';
import { readProcessMemory } from './daemon-metrics.ts';
import { queryRoutes } from './routes/query.ts';
import { recorderRoutes } from './routes/recorder.ts';
import { runRoutes } from './routes/runs.ts';
import { statusRoutes } from './routes/status.ts';
import { haltRoutes } from './routes/stop.ts';
import { syncRoutes } from './routes/sync.ts';
import { typeboxValidatorCompiler } from './schema-compiler.ts';
import { SseHub } from './sse/sse-hub.ts';

export interface ApiServer {
  app: FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, Logger>;
  hub: SseHub;
  live: LiveMapHub;
  metrics: ApiMetrics;
  /** Every route as registered, with its schema: what docs/api-reference.md is written from. */
  routes: readonly RouteOptions[];
  /** The MCP gateway's part for the stop listener, which takes MCP's /mcp too; undefined without `mcp.enabled`. */
  mcpStops: ListenerHalts | undefined;
  /** Ends the event streams, then stops taking requests. */
  close(): Promise<void>;
}

/** How long a closing server waits for the requests in flight (POST /stop waits about a second for the journal). */
const CLOSE_GRACE_MS = 1500;

/**
 * The local HTTP API as a fastify instance (not yet listening): one plugin per concern, every route with a
 * TypeBox schema validated by the contract's validator, one error shape, the auth gate first, then
 * the guard against web pages (cross-site.ts).
 */
export async function buildApiServer(
  ctx: ComponentContext,
  settings: ApiSettings,
  stopPort: () => string | undefined = () => undefined,
): Promise<ApiServer> {
  const log = ctx.log.child({ component: 'api' });
  const errorHandler = makeErrorHandler(log);
  const metrics = new ApiMetrics();
  const app = Fastify({
    bodyLimit: settings.body_limit_bytes,
    ...connectionTimeouts(settings),
    loggerInstance: log,
    logController: new LogController({ disableRequestLogging: true }),
    // SSE streams are ended by close(); idle keep-alive sockets must not hold the shutdown up. A request in
    // flight is answered (a POST /stop whose stop ended the main job, which stops the daemon), up to
    // CLOSE_GRACE_MS; then its connection is closed too.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    // Errors fastify and node answer before a route runs get the API's `{error, message}` body too.
    frameworkErrors: errorHandler,
    clientErrorHandler: (error, socket) => {
      const answered = clientErrorHandler(error, socket);
      if (answered) metrics.clientError(answered);
    },
  });
  app.setValidatorCompiler(typeboxValidatorCompiler);
  useJsonBodies(app);
  app.setErrorHandler(errorHandler);
  const allowed = new AllowedMethods();
  const routes: RouteOptions[] = [];
  app.addHook('onRoute', (route) => {
    allowed.add(route.url, route.method);
    routes.push(route);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    const methods = allowed.of(path);
    if (methods.length === 0) {
      const { status, body } = apiErrorReply('not_found', `no route ${request.method} ${path}`);
      void reply.code(status).send(body);
      return;
    }
    reply.header('allow', methods.join(', '));
    if (request.method === 'OPTIONS') void reply.code(204).send();
    else {
      const { status, body } = apiErrorReply(
        'method_not_allowed',
        `${request.method} ${path}: this route takes ${methods.join(', ')}`,
      );
      void reply.code(status).send(body);
    }
  });
  app.addHook('onRequest', makeAuthHook({ host: settings.host, token: settings.token }));
  app.addHook('onRequest', makeCrossSiteHook({ refused: (reason) => metrics.crossSiteRefused(reason) }));

  app.addHook('onResponse', async (request, reply) => {
    metrics.request(
      request.method,
      request.routeOptions.url ?? 'unmatched',
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
  });

  const { events } = settings;
  const hub = new SseHub({
    journal: ctx.journal,
    maxBufferedBytes: events.max_buffered_bytes,
    maxLag: events.max_lag,
    stallTimeoutMs: events.stall_timeout_s * 1000,
    heartbeatMs: events.heartbeat_s * 1000,
    maxClients: events.max_clients,
    maxReplays: events.max_replays,
  });
  const codec = new MessageCodec(ctx.definitions);
  const live = new LiveMapHub({
    bus: ctx.bus,
    codec,
    maxBufferedBytes: events.max_buffered_bytes,
    stallTimeoutMs: events.stall_timeout_s * 1000,
    heartbeatMs: events.heartbeat_s * 1000,
  });
  const freeBytes = new Sampled({ read: () => statfs(ctx.dataDir).then((s) => s.bavail * s.bsize) });
  const memory = new Sampled({ read: readProcessMemory });
  let mcpStops: ListenerHalts | undefined;
  const routeContext: RouteContext = {
    ctx,
    settings,
    codec,
    hub,
    live,
    metrics,
    freeBytes,
    memory,
    stopPort,
    mcpStops: (stops) => void (mcpStops = stops),
  };
  for (const plugin of [
    healthRoutes,
    statusRoutes,
    metricsRoutes,
    runRoutes,
    haltRoutes,
    controlRoutes,
    eventRoutes,
    queryRoutes,
    recorderRoutes,
    syncRoutes,
    inferenceRoutes,
    actionRoutes,
    mapRoutes,
    pageRoutes,
    mcpRoutes,
  ]) {
    await app.register(plugin, routeContext);
  }
  return {
    app,
    hub,
    live,
    metrics,
    routes,
    mcpStops,
    close: async () => {
      hub.close();
      live.close();
      const closed = app.close();
      await within(closed, CLOSE_GRACE_MS);
      app.server.closeAllConnections();
      await closed;
    },
  };
}

/**
 * How long a client may take, in fastify's and node's terms. A request must arrive whole (headers and body)
 * within api.request_timeout_s, or it gets 408 and its connection closes: a client trickling a body a byte
 * a second would otherwise hold a socket and its buffers forever (fastify's default is no limit). Node
 * checks on a timer, here at least once a second. Only the request's arrival is bounded: a route's own
 * wait (a query, an inference: their own timeouts) and an event stream, whose request arrived long ago,
 * are not, so there is no socket idle timeout (fastify's connectionTimeout stays 0).
 */
function connectionTimeouts(settings: ApiSettings) {
  const requestTimeout = Math.max(1, Math.round(settings.request_timeout_s * 1000));
  return {
    requestTimeout,
    keepAliveTimeout: Math.max(1, Math.round(settings.keep_alive_timeout_s * 1000)),
    http: {
      requestTimeout,
      // Node's default (60 s) would outlast a shorter request timeout; the headers are part of the request.
      headersTimeout: requestTimeout,
      connectionsCheckingInterval: Math.min(1000, Math.max(10, Math.floor(requestTimeout / 4))),
      // Answered by the auth hook instead, in the API's error shape.
      requireHostHeader: false,
    },
  };
}
