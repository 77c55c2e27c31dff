import type { FastifyPluginAsync } from 'fastify';
import Type, { type Static } from 'typebox';
import { HttpError } from '../errors.ts';
import { requireLakehouse } from '../services.ts';
import type { RouteContext } from './route-context.ts';

const QueryBody = Type.Object(
  {
    sql: Type.String({ minLength: 1, maxLength: 100_000, description: 'one read-only SQL statement' }),
    timeout_ms: Type.Optional(Type.Integer({ minimum: 1, maximum: 600_000 })),
    max_rows: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
  },
  { additionalProperties: false },
);

/** How long past its own time limit the lakehouse gets to give up before the API answers 504 itself. */
const GRACE_MS = 1000;

/**
 * POST /query: read-only SQL on the lakehouse, within a time limit (api.query.timeout_ms, or less when the
 * request asks) and a row limit. The lakehouse enforces read-only; the API enforces that an answer comes in
 * time even if the lakehouse does not stop.
 */
export const queryRoutes: FastifyPluginAsync<RouteContext> = async (app, { ctx, settings, metrics }) => {
  app.post<{ Body: Static<typeof QueryBody> }>('/query', { schema: { body: QueryBody } }, async (request) => {
    const lakehouse = requireLakehouse(ctx);
    const timeoutMs = Math.min(request.body.timeout_ms ?? settings.query.timeout_ms, settings.query.timeout_ms);
    const maxRows = Math.min(request.body.max_rows ?? settings.query.max_rows, settings.query.max_rows);
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new HttpError(504, 'timeout', `query did not finish within ${timeoutMs} ms (api.query.timeout_ms or timeout_ms)`)), timeoutMs + GRACE_MS);
    });
    let outcome = 'ok';
    try {
      const result = await Promise.race([lakehouse.query(request.body.sql, { timeoutMs, maxRows }), deadline]);
      return { ...result, elapsed_ms: Math.round(performance.now() - started) };
    } catch (error) {
      if (error instanceof HttpError) {
        outcome = 'timeout';
        throw error;
      }
      outcome = 'error';
      const message = (error as Error).message;
      if (/timeout|timed out|interrupt|ran past/i.test(message)) {
        outcome = 'timeout';
        throw new HttpError(504, 'timeout', `query did not finish within ${timeoutMs} ms: ${message}`);
      }
      // The lakehouse rejects what it will not run (a write, a syntax error): the client's SQL is at fault.
      throw new HttpError(400, 'query_failed', `body.sql: ${message}`, [{ path: 'body.sql', message }]);
    } finally {
      clearTimeout(timer);
      metrics.query.observe({ outcome }, (performance.now() - started) / 1000);
    }
  });
};
