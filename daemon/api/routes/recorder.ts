import type { FastifyPluginAsync } from 'fastify';
import Type, { type Static } from 'typebox';
import { SERVICE_NAMES, type ClosedSplit, type LakehouseService, type PauseState, type RecorderService, type SplitIndexing } from '../../contract/services.ts';
import { HttpError, unavailable } from '../errors.ts';
import { absentReason } from '../services.ts';
import type { RouteContext } from './route-context.ts';

const SplitBody = Type.Object(
  {
    wait: Type.Boolean({ default: true, description: 'wait until the closed split is indexed into the lakehouse (or its indexing fails)' }),
    timeout_ms: Type.Integer({ minimum: 1, maximum: 600_000, default: 30_000, description: 'how long to wait for the indexing' }),
  },
  { additionalProperties: false },
);

/**
 * POST /recorder/split's reply. `split.closed_now` is false when nothing was recorded since the last split
 * closed: `split` is that one, with its indexing. `split` is null when the bag being recorded has no message yet.
 */
export interface SplitReply {
  split: ClosedSplit | null;
  indexing: SplitIndexing | { state: 'not_waited' } | { state: 'timeout'; reason: string } | null;
}

function isRecorder(value: unknown): value is RecorderService {
  const r = value as Partial<RecorderService> | undefined;
  return typeof r?.split === 'function' && typeof r.pause === 'function' && typeof r.resume === 'function';
}

/**
 * POST /recorder/split: closes the split being recorded now, as rosbag2's `~/split_bagfile` service does,
 * so that what was recorded up to now is in the bag's metadata.yaml and, once indexed, in queries. With
 * `wait` (the default) the reply comes once the lakehouse has indexed it, its indexing failed, or
 * `timeout_ms` passed (the indexing goes on). 409 when the recorder is not recording, 503 when it is absent.
 */
export const recorderRoutes: FastifyPluginAsync<RouteContext> = async (app, { ctx }) => {
  const requireRecorder = (): RecorderService => {
    const recorder = ctx.components.get(SERVICE_NAMES.recorder);
    if (!isRecorder(recorder)) throw unavailable('the recorder', absentReason(ctx, SERVICE_NAMES.recorder));
    return recorder;
  };

  /**
   * POST /recorder/pause and /recorder/resume: rosbag2's `~/pause` and `~/resume`. Paused, the recorder keeps
   * its bag open and writes nothing; what comes meanwhile is counted (`not_recorded`), not dropped.
   * `changed` is false for a pause of a paused recorder (or a resume of a recording one).
   */
  app.post('/recorder/pause', async (): Promise<PauseState> => requireRecorder().pause());
  app.post('/recorder/resume', async (): Promise<PauseState> => requireRecorder().resume());

  app.post<{ Body: Static<typeof SplitBody> }>('/recorder/split', { schema: { body: SplitBody } }, async (request): Promise<SplitReply> => {
    const recorder = requireRecorder();
    let split: ClosedSplit | undefined;
    try {
      split = await recorder.split();
    } catch (error) {
      const e = error as Error & { statusCode?: number; code?: string };
      if (e.statusCode === 409) throw new HttpError(409, e.code ?? 'conflict', e.message);
      throw error;
    }
    if (!split) return { split: null, indexing: null };
    if (!request.body.wait) return { split, indexing: { state: 'not_waited' } };
    const lakehouse = ctx.components.get(SERVICE_NAMES.lakehouse) as Partial<LakehouseService> | undefined;
    if (typeof lakehouse?.splitIndexing !== 'function') return { split, indexing: { state: 'off', reason: absentReason(ctx, SERVICE_NAMES.lakehouse) } };
    return { split, indexing: await withTimeout(lakehouse.splitIndexing(split.file), request.body.timeout_ms) };
  });
};

async function withTimeout(indexing: Promise<SplitIndexing>, ms: number): Promise<SplitReply['indexing']> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<SplitReply['indexing']>((resolve) => {
    timer = setTimeout(() => resolve({ state: 'timeout', reason: `not indexed within ${ms} ms (the lakehouse's queue is behind); it goes on` }), ms);
  });
  try {
    return await Promise.race([indexing, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
