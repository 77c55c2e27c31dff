import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { errorText, PACKAGE_ROOT } from 'auraison-edge/util';
import { FleetQueryError } from './fleet-query.ts';
import type { FleetView } from './fleet-view.ts';
import { FleetHttpError, type FleetApiErrorCode } from './http-errors.ts';
import { guardFleetHttp } from './http-guard.ts';
import { compileStatusUrlPatterns, isLinkableStatusUrl } from './status-links.ts';
import { readOnlyProblem } from './read-only-sql.ts';

const PAGE_DIR = join(PACKAGE_ROOT, 'central', 'page');
const PAGE_HEADERS = {
  'cache-control': 'no-cache',
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'",
  'x-content-type-options': 'nosniff',
};
/** The most events one GET /api/events returns. */
const MAX_EVENTS = 1000;
const DEFAULT_EVENTS = 100;
/** A query's text: as the daemon's POST /query takes. */
const MAX_SQL_CHARS = 100_000;

const NO_QUERY = { type: 'object', properties: {}, additionalProperties: false } as const;

/**
 * The fleet's HTTP API and page, served by `central serve`: GET /api/robots (with `senders`: whether the broker
 * proves who sent the reports), /api/events?limit=N, /api/uploads, POST /api/query {sql} (read-only), and the
 * fleet page at `/` (central/page, plain HTML and ES modules read once at start). Every answer comes from `view`;
 * nothing here holds state. Requests pass the Host and token checks first (http-guard.ts). Resolves once the
 * server listens (`http.port` 0 takes a free port: see `fleetHttpUrl`).
 */
export async function fleetHttp(
  view: FleetView,
  http: { host: string; port: number; token?: string; allowed_hosts?: string[]; allowed_status_urls?: string[] },
): Promise<FastifyInstance> {
  const statusPatterns = compileStatusUrlPatterns(http.allowed_status_urls ?? []);
  if (!Array.isArray(statusPatterns))
    throw new Error(
      `http.allowed_status_urls.${statusPatterns.index}: not a regular expression: ${statusPatterns.error}`,
    );
  const app = Fastify({
    forceCloseConnections: true,
    bodyLimit: MAX_SQL_CHARS * 4 + 1024,
    // An unknown parameter is refused, not dropped: a misspelt `limt=5` must not quietly give 100 events.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true } },
  });
  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, _request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    const code: FleetApiErrorCode = status === 400 ? 'bad_request' : status === 404 ? 'not_found' : 'internal';
    void reply
      .code(status)
      .send({ error: error instanceof FleetHttpError ? error.code : code, message: error.message });
  });
  guardFleetHttp(app, { host: http.host, token: http.token, allowedHosts: http.allowed_hosts });
  app.setNotFoundHandler((request, reply) => {
    const error = new FleetHttpError('not_found', `no route ${request.method} ${request.url.split('?')[0]}`);
    void reply.code(error.statusCode).send({ error: error.code, message: error.message });
  });

  app.get('/api/robots', { schema: { querystring: NO_QUERY } }, async () => ({
    robots: view
      .robots()
      .map((r) =>
        r.status_url !== undefined && isLinkableStatusUrl(r.status_url, statusPatterns)
          ? { ...r, status_link: true }
          : r,
      ),
    ...(view.senders ? { senders: view.senders() } : {}),
  }));
  app.get('/api/uploads', { schema: { querystring: NO_QUERY } }, async () => view.uploads());
  app.get('/api/ingest', { schema: { querystring: NO_QUERY } }, async () => view.ingest?.() ?? {});
  app.get('/api/maintenance', { schema: { querystring: NO_QUERY } }, async () => view.maintenance?.() ?? {});
  app.get<{ Querystring: { limit?: number } }>(
    '/api/events',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: { limit: { type: 'integer', minimum: 1, maximum: MAX_EVENTS } },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => send(reply, { events: await view.recentEvents(request.query.limit ?? DEFAULT_EVENTS) }),
  );
  app.post<{ Body: { sql: string } }>(
    '/api/query',
    {
      schema: {
        body: {
          type: 'object',
          required: ['sql'],
          properties: { sql: { type: 'string', minLength: 1, maxLength: MAX_SQL_CHARS } },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const problem = readOnlyProblem(request.body.sql);
      if (problem) throw new FleetHttpError('read_only', `body.sql: ${problem}`);
      const started = performance.now();
      let result: Awaited<ReturnType<FleetView['query']>>;
      try {
        result = await view.query(request.body.sql);
      } catch (error) {
        // Central too busy for it is not the SQL's fault; anything else is: refused, stopped, or DuckDB's error.
        if (error instanceof FleetQueryError) throw new FleetHttpError(error.code, `body.sql: ${error.message}`);
        throw new FleetHttpError('query_failed', `body.sql: ${errorText(error)}`);
      }
      const { columns, rows, truncated = false, truncated_by } = result;
      const elapsed_ms = Math.round(performance.now() - started);
      return send(reply, { columns, rows, truncated, ...(truncated_by ? { truncated_by } : {}), elapsed_ms });
    },
  );
  await pageRoutes(app);
  await app.listen({ host: http.host, port: http.port });
  return app;
}

/** The URL a started fleetHttp server answers at (its host as a client dials it). */
export function fleetHttpUrl(app: FastifyInstance): string {
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('the fleet HTTP server is not listening');
  const host = address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '::1' : address.address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}

/**
 * The page's files, sent from central/page by @fastify/static: they hold no data, everything they show comes from
 * /api. Only the names there at start are served; each answer revalidates (no-cache) and may run no other script.
 */
async function pageRoutes(app: FastifyInstance): Promise<void> {
  const names = new Set(readdirSync(PAGE_DIR));
  await app.register(fastifyStatic, {
    root: PAGE_DIR,
    serve: false,
    cacheControl: false,
    setHeaders: (reply, path) => {
      void reply.headers(PAGE_HEADERS);
      // RFC 9239's type for scripts; the plugin's mime table still names application/javascript.
      if (path.endsWith('.js')) void reply.type('text/javascript; charset=utf-8');
    },
  });
  app.get('/', async (_request, reply) => reply.sendFile('index.html'));
  app.get<{ Params: { file: string } }>(
    '/page/:file',
    {
      schema: {
        params: {
          type: 'object',
          properties: { file: { type: 'string', pattern: '^[A-Za-z0-9_-]+\\.(js|css)$' } },
          required: ['file'],
        },
      },
    },
    async (request, reply) => {
      if (!names.has(request.params.file))
        throw new FleetHttpError('not_found', `no page asset ${request.params.file}`);
      return reply.sendFile(request.params.file);
    },
  );
}

/** Sends `body` as JSON: the lakehouse's values (BIGINT, timestamps, blobs) as JSON can carry them. */
function send(reply: FastifyReply, body: unknown): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(JSON.stringify(body, jsonValue));
}

/** BIGINTs as numbers while exact, else as decimal strings; bytes as hex; DuckDB's value objects as text. */
function jsonValue(this: unknown, _key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (value instanceof Date || value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  // A plain object (a STRUCT, a MAP's entries) stays; a class instance (a DuckDB timestamp, a decimal) is text.
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null ? value : String(value as object);
}
