import type { TSchema } from 'typebox';

/**
 * What a route's schema tells its reader: docs/api-reference.md is written from these keys and the validation
 * schemas beside them (api-reference.ts). Fastify compiles only body, querystring, params, headers and response,
 * and passes the rest through untouched, as it does @fastify/swagger's keys.
 */
declare module 'fastify' {
  interface FastifySchema {
    /** One line: what the route is for. */
    summary?: string;
    /** What a caller needs beyond the parameters: how the reply comes, what it holds. */
    description?: string;
    /** The 2xx answer, in short form (`{status: "ok", uptime_s}`). */
    reply?: string;
    /** Every other status the route itself answers, with its `error` code where it has one, and when. */
    statuses?: Readonly<Record<number, string>>;
    /** A body the handler validates itself because it may be absent (`curl -X POST` with none). */
    optionalBody?: TSchema;
  }
}
