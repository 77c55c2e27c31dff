import type { FastifyPluginAsync } from 'fastify';
import Type, { type Static } from 'typebox';
import { PORTS, type SyncService } from '../../contract/index.ts';
import { unavailable } from '../errors.ts';
import { absentReason } from '../services.ts';
import type { RouteContext } from './route-context.ts';

/** GET /sync's reply: bulk sync's state, or why there is none. */
export type SyncReply = { enabled: true; [key: string]: unknown } | { enabled: false; reason: string };

const PauseBody = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: 500, description: 'why, shown in sync status' })) },
  { additionalProperties: false },
);

const ResumeBody = Type.Object(
  {
    central: Type.Optional(
      Type.Boolean({ description: "lift central's pause too, not only the robot's (central's next pause holds)" }),
    ),
  },
  { additionalProperties: false },
);

const SYNC_STATE =
  '{enabled: true, online, paused, awaiting: {files, bytes}, states, current, last_error, degraded, uploads, budget}';
const AS_GET_SYNC = 'the sync state, as `GET /sync` answers it';
const SYNC_DOCS = {
  summary: "Bulk sync's state: files awaiting, the upload under way with its rate and ETA, the last error, the budget.",
  reply: `${SYNC_STATE}, or {enabled: false, reason}`,
};
const SYNC_PAUSE_DOCS = {
  body: PauseBody,
  summary: 'Holds bulk uploads (events and heartbeats go on).',
  reply: AS_GET_SYNC,
  statuses: { 503: '`unavailable`: bulk sync is not running (the message says why)' },
};
const SYNC_RESUME_DOCS = {
  body: ResumeBody,
  summary: "Lifts the robot's pause of bulk uploads, and central's too with `central: true`.",
  reply: AS_GET_SYNC,
  statuses: SYNC_PAUSE_DOCS.statuses,
};

/**
 * Bulk sync (docs/sync.md): GET /sync (files awaiting, the upload under way with its rate and ETA, the last
 * error, the budget, paused or not), POST /sync/pause and /sync/resume (bulk uploads only: events and
 * heartbeats go on). 503 for pause and resume when bulk sync is not running.
 */
export const syncRoutes: FastifyPluginAsync<RouteContext> = async (app, { ctx }) => {
  const why = (): string => {
    const { central } = ctx.config;
    if (!central.enabled) return 'there is no central link (central.enabled is false)';
    if (!central.sync.enabled) return 'bulk sync is off (central.sync.enabled is false)';
    return absentReason(ctx, 'central');
  };
  const service = (): SyncService | undefined => ctx.ports.get(PORTS.sync);

  app.get('/sync', { schema: SYNC_DOCS }, async (): Promise<SyncReply> => {
    const status = service()?.syncStatus();
    return status ? { enabled: true, ...status } : { enabled: false, reason: why() };
  });

  const pauseOrResume = async (paused: boolean, reason: string | undefined, central: boolean) => {
    const s = service();
    if (!s || !(await s.pauseSync(paused, reason ?? 'paused from the robot (CLI or API)', central)))
      throw unavailable('bulk sync', why());
    return { enabled: true, ...s.syncStatus() };
  };
  app.post<{ Body: Static<typeof PauseBody> }>('/sync/pause', { schema: SYNC_PAUSE_DOCS }, (request) =>
    pauseOrResume(true, request.body?.reason, false),
  );
  app.post<{ Body: Static<typeof ResumeBody> }>('/sync/resume', { schema: SYNC_RESUME_DOCS }, (request) =>
    pauseOrResume(false, undefined, request.body?.central === true),
  );
};
