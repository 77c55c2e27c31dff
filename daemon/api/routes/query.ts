import type { FastifyPluginAsync } from 'fastify';
import Type, { type Static } from 'typebox';
import { withTimeout, errorText } from '../../util/index.ts';
import { HttpError } from '../errors.ts';
import { requireLakehouse } from '../services.ts';
import type { RouteContext } from './route-context.ts';

const QueryBody = Type.Object(
  {
    sql: Type.String({ minLength: 1, maxLength: 100_000, description: 'one read-only SQL statement' }),
    timeout_ms: Type.Optional(Type.Integer({ minimum: 1, maximum: 600_000 })),
    max_rows: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    max_bytes: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 * 1024 * 1024 })),
  },
  { additionalProperties: false },
);

const QUERY_SCHEMA = {
  body: QueryBody,
  summary: 'Read-only SQL on the lakehouse, within a time, a row and a byte limit.',
  description:
    'The limits are `api.query.timeout_ms`, `max_rows` and `max_bytes` (16 MiB of rows as JSON); a request may ask ' +
    'for less, never more. Rows past a limit are cut and the reply says which limit. DuckDB runs it under a ' +
    '`memory_limit` of 1 GiB (a quarter of the RAM on smaller machines).',
  reply:
    '{columns: [{name, type}], rows: [[value]], truncated, truncated_by?: max_rows | max_bytes, truncated_reason?, ' +
    'warnings?: [unreadable Parquet file], elapsed_ms}',
  statuses: {
    400: '`query_failed`: the lakehouse refused the SQL (a write, a syntax error), named at `body.sql`',
    503: '`unavailable`: the lakehouse is not running, or its query process ended while the query ran (run it again)',
    504: '`timeout`: past the time limit',
  },
};

/** How long past its own time limit the lakehouse gets to give up before the API answers 504 itself. */
const GRACE_MS = 1000;

/**
 * POST /query: read-only SQL on the lakehouse, within a time limit (api.query.timeout_ms, or less when the
 * request asks), a row limit and a byte limit on the rows as JSON (api.query.max_rows and max_bytes, or
 * less when asked). Rows past a limit are cut and the reply says which limit and why. The lakehouse
 * enforces read-only and stops reading at the limits; the API enforces that an answer comes in time even if
 * the lakehouse does not stop.
 */
export const queryRoutes: FastifyPluginAsync<RouteContext> = async (app, { ctx, settings, metrics }) => {
  app.post<{ Body: Static<typeof QueryBody> }>('/query', { schema: QUERY_SCHEMA }, async (request) => {
    const lakehouse = requireLakehouse(ctx);
    const timeoutMs = Math.min(request.body.timeout_ms ?? settings.query.timeout_ms, settings.query.timeout_ms);
    const maxRows = Math.min(request.body.max_rows ?? settings.query.max_rows, settings.query.max_rows);
    const maxBytes = Math.min(request.body.max_bytes ?? settings.query.max_bytes, settings.query.max_bytes);
    const started = performance.now();
    let outcome = 'ok';
    try {
      const result = await withTimeout(
        lakehouse.query(request.body.sql, { timeoutMs, maxRows, maxBytes }),
        timeoutMs + GRACE_MS,
        () =>
          new HttpError('timeout', `query did not finish within ${timeoutMs} ms (api.query.timeout_ms or timeout_ms)`),
      );
      const why =
        result.truncated_by === 'max_bytes'
          ? `the rows as JSON would pass ${maxBytes} bytes (api.query.max_bytes, or max_bytes in the request): select fewer or narrower columns, or add a LIMIT`
          : result.truncated_by === 'max_rows'
            ? `more than ${maxRows} rows (api.query.max_rows, or max_rows in the request): add a LIMIT or a WHERE`
            : undefined;
      return {
        ...result,
        ...(why ? { truncated_reason: why } : {}),
        elapsed_ms: Math.round(performance.now() - started),
      };
    } catch (error) {
      if (error instanceof HttpError) {
        outcome = 'timeout';
        throw error;
      }
      outcome = 'error';
      const message = errorText(error);
      // The query process crashed or was killed (out of memory): not the SQL's fault, and the next query restarts it.
      if ((error as Error).name === 'QueryProcessExited') throw new HttpError('unavailable', message);
      if (/timeout|timed out|interrupt|ran past/i.test(message)) {
        outcome = 'timeout';
        throw new HttpError('timeout', `query did not finish within ${timeoutMs} ms: ${message}`);
      }
      // The lakehouse rejects what it will not run (a write, a syntax error): the client's SQL is at fault.
      throw new HttpError('query_failed', `body.sql: ${message}`, [{ path: 'body.sql', message }]);
    } finally {
      metrics.query.observe({ outcome }, (performance.now() - started) / 1000);
    }
  });
};
