import type { FastifyPluginAsync } from 'fastify';
import Type, { type Static } from 'typebox';
import { NoQuery } from './health.ts';
import type { RouteContext } from './route-context.ts';

const Seq = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const EventsQuery = Type.Object(
  {
    kinds: Type.Optional(Type.String({ pattern: '^[a-z_.]+(,[a-z_.]+)*$', maxLength: 1024, description: 'comma-separated record kinds, e.g. agent_event,run_state' })),
    last_event_id: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'like Last-Event-ID, for clients that cannot set headers' })),
  },
  { additionalProperties: false },
);
const EventsHeaders = Type.Object({ 'last-event-id': Type.Optional(Seq) });

/**
 * GET /events: the durable journal as Server-Sent Events. Each event's id is the record's seq; a client that
 * reconnects with Last-Event-ID gets every record after it (replay), then the live tail. Without one it
 * starts at the journal's end. GET /live/map: the status page's map, pose and plan, latest state only.
 */
export const eventRoutes: FastifyPluginAsync<RouteContext> = async (app, { hub, live }) => {
  app.get<{ Querystring: Static<typeof EventsQuery>; Headers: Static<typeof EventsHeaders> }>(
    '/events',
    { schema: { querystring: EventsQuery, headers: EventsHeaders } },
    async (request, reply) => {
      const { kinds, last_event_id } = request.query;
      const header = request.headers['last-event-id'];
      reply.hijack();
      hub.open(reply.raw, {
        lastEventId: header ?? last_event_id,
        ...(kinds ? { kinds: new Set(kinds.split(',')) } : {}),
      });
    },
  );

  app.get('/live/map', { schema: { querystring: NoQuery } }, async (_request, reply) => {
    reply.hijack();
    live.open(reply.raw);
  });
};
