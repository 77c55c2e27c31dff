import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import Type, { type Static } from 'typebox';
import { AGENT_EVENT, RUN_STATE } from '../../agent/index.ts';
import { didYouMean } from '../../util/index.ts';
import { apiErrorReply, HttpError } from '../errors.ts';
import { sseHeaders } from '../sse/sse-frame.ts';
import { NoQuery } from './health.ts';
import type { RouteContext } from './route-context.ts';

const Seq = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const EventsQuery = Type.Object(
  {
    kinds: Type.Optional(
      Type.String({
        pattern: '^[a-z_.]+(,[a-z_.]+)*$',
        maxLength: 1024,
        description: 'comma-separated journal record kinds: agent_event, run_state',
      }),
    ),
    last_event_id: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: Number.MAX_SAFE_INTEGER,
        description: 'like Last-Event-ID, for clients that cannot set headers',
      }),
    ),
  },
  { additionalProperties: false },
);
const EventsHeaders = Type.Object({ 'last-event-id': Type.Optional(Seq) });
/** The record kinds the journal holds: a filter on any other kind would be an empty stream forever. */
const JOURNAL_KINDS: readonly string[] = [AGENT_EVENT, RUN_STATE];

/** The `kinds` filter, or a 400 naming the first kind the journal never writes. */
function parseKinds(kinds: string): Set<string> {
  const list = kinds.split(',');
  for (const kind of list) {
    if (JOURNAL_KINDS.includes(kind)) continue;
    // An agent event's kind (approval.granted, tool.call, ...) is the natural first guess: point at its record kind.
    const hint = kind.includes('.')
      ? `; "${kind}" looks like an agent event kind: ask for kinds=${AGENT_EVENT} and read each event's data.kind`
      : ((m) => (m ? `; did you mean "${m}"?` : ''))(didYouMean(kind, JOURNAL_KINDS));
    const message = `unknown journal record kind "${kind}" (the journal holds ${JOURNAL_KINDS.join(', ')})${hint}`;
    throw new HttpError('bad_request', `querystring.kinds: ${message}`, [{ path: 'querystring.kinds', message }]);
  }
  return new Set(list);
}

const LIVE_MAP_DOCS = {
  summary: "The status page's map as Server-Sent Events: latest state only.",
  description:
    'Events `map`, `pose` (with linear and angular speed, 10 Hz at most), `plan` (empty once the goal ends) and ' +
    '`scan` (hits in the map frame, 360 at most, 10 Hz at most), as compact JSON. A slow viewer skips to the ' +
    'latest state; one that reads nothing for `api.events.stall_timeout_s` is cut off.',
  reply: 'text/event-stream',
};

/**
 * GET /events: the durable journal as Server-Sent Events. Each event's id is the record's seq; a client that
 * reconnects with Last-Event-ID gets every record after it (replay), then the live tail. Without one it
 * starts at the journal's end. GET /live/map: the status page's map, pose and plan, latest state only.
 */
export const eventRoutes: FastifyPluginAsync<RouteContext> = async (app, { hub, live }) => {
  app.get<{ Querystring: Static<typeof EventsQuery>; Headers: Static<typeof EventsHeaders> }>(
    '/events',
    {
      schema: {
        querystring: EventsQuery,
        headers: EventsHeaders,
        summary: 'The durable journal as Server-Sent Events: replay after Last-Event-ID, then the live tail.',
        description:
          "Each event's `id` is the record's seq. Without Last-Event-ID the stream starts at the journal's end " +
          '(`last_event_id=0` replays it all). How a slow client is held: docs/api.md.',
        reply: 'text/event-stream: an event per journal record, gap events, ping comments',
        statuses: {
          400: 'a kind the journal never writes (with a did-you-mean)',
          503: '`busy`: `api.events.max_clients` streams or `max_replays` replays are open; `Retry-After` says when to retry',
        },
      },
    },
    async (request, reply) => {
      const { kinds, last_event_id } = request.query;
      const header = request.headers['last-event-id'];
      const filter = kinds ? parseKinds(kinds) : undefined;
      if (headOnly(request, reply, hub.heartbeatMs)) return reply;
      const options = { lastEventId: header ?? last_event_id, ...(filter ? { kinds: filter } : {}) };
      const refusal = hub.refusal(options);
      if (refusal) {
        // Answered, not thrown: under a flood of clients this is the hot path, and an Error's stack trace was
        // a twelfth of the event loop the operator's stop waits on.
        const { status, body } = apiErrorReply('busy', `${refusal.message}; try again in ${refusal.retryAfterS} s`);
        return reply.code(status).header('retry-after', String(refusal.retryAfterS)).send(body);
      }
      reply.hijack();
      hub.open(reply.raw, options);
    },
  );

  app.get('/live/map', { schema: { querystring: NoQuery, ...LIVE_MAP_DOCS } }, async (request, reply) => {
    if (headOnly(request, reply, live.heartbeatMs)) return reply;
    reply.hijack();
    live.open(reply.raw);
  });
};

/**
 * HEAD on a stream: its headers, then the end. Fastify runs the GET handler for HEAD, and a stream opened
 * for it would send no body and never end, so a HEAD probe (a monitor, `curl -I`) would hang.
 */
function headOnly(request: FastifyRequest, reply: FastifyReply, heartbeatMs: number): boolean {
  if (request.method !== 'HEAD') return false;
  const { connection: _, ...headers } = sseHeaders(heartbeatMs);
  void reply.headers(headers).send();
  return true;
}
