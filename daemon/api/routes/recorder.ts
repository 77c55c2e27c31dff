import type { FastifyPluginAsync } from 'fastify';
import Type, { type Static } from 'typebox';
import {
  PORTS,
  SERVICE_NAMES,
  type ClosedSplit,
  type PauseState,
  type RecorderService,
  type SplitIndexing,
  type TakenSnapshot,
} from '../../contract/index.ts';
import { within } from '../../util/index.ts';
import { HttpError, unavailable } from '../errors.ts';
import { absentReason } from '../services.ts';
import type { RouteContext } from './route-context.ts';

const SplitBody = Type.Object(
  {
    wait: Type.Boolean({
      default: true,
      description: 'wait until the closed split is indexed into the lakehouse (or its indexing fails)',
    }),
    timeout_ms: Type.Integer({
      minimum: 1,
      maximum: 600_000,
      default: 30_000,
      description: 'how long to wait for the indexing',
    }),
  },
  { additionalProperties: false },
);

const PAUSE_DOCS = {
  description: 'What comes while paused is counted in `not_recorded`. `changed` is false when it already was so.',
  reply: '{paused, since_ns, not_recorded, changed}',
  statuses: { 503: '`unavailable`: the recorder is not running' },
};
/** The indexing a split or snapshot reply holds, in short form. */
const INDEXING =
  '{state: indexed | failed | pending | off | timeout | not_waited, error?, retry_in_ms?, reason?} | null';

/**
 * POST /recorder/split's reply. `split.closed_now` is false when nothing was recorded since the last split
 * closed: `split` is that one, with its indexing. `split` is null when the bag being recorded has no message yet.
 */
export interface SplitReply {
  split: ClosedSplit | null;
  indexing: SplitIndexing | { state: 'not_waited' } | { state: 'timeout'; reason: string } | null;
}

/** POST /recorder/snapshot's reply: `snapshot` is null when the buffer holds no message (no bag is written). */
export interface SnapshotReply {
  snapshot: TakenSnapshot | null;
  indexing: SplitReply['indexing'];
}

/**
 * POST /recorder/split: closes the split being recorded now, as rosbag2's `~/split_bagfile` service does,
 * so that what was recorded up to now is in the bag's metadata.yaml and, once indexed, in queries. With
 * `wait` (the default) the reply comes once the lakehouse has indexed it, its indexing failed, or
 * `timeout_ms` passed (the indexing goes on). 409 when the recorder is not recording, 503 when it is absent.
 */
export const recorderRoutes: FastifyPluginAsync<RouteContext> = async (app, { ctx }) => {
  const requireRecorder = (): RecorderService => {
    const recorder = ctx.ports.get(PORTS.recorder);
    if (!recorder) throw unavailable('the recorder', absentReason(ctx, SERVICE_NAMES.recorder));
    return recorder;
  };

  /**
   * No lakehouse to ask: off when the config has none; pending when it has one that is not running (failed,
   * restarting): its start scan indexes the bag, but a query right now would not see it.
   */
  const noLakehouse = (): SplitIndexing => {
    const reason = absentReason(ctx, SERVICE_NAMES.lakehouse);
    return ctx.config.lakehouse.enabled
      ? { state: 'pending', reason: `${reason}; its next start indexes it` }
      : { state: 'off', reason };
  };

  /**
   * POST /recorder/pause and /recorder/resume: rosbag2's `~/pause` and `~/resume`. Paused, the recorder keeps
   * its bag open and writes nothing; what comes meanwhile is counted (`not_recorded`), not dropped.
   * `changed` is false for a pause of a paused recorder (or a resume of a recording one).
   */
  app.post(
    '/recorder/pause',
    {
      schema: {
        summary: "Pauses the recorder (rosbag2's `~/pause`): the bag stays open, nothing is written.",
        ...PAUSE_DOCS,
      },
    },
    async (): Promise<PauseState> => requireRecorder().pause(),
  );
  app.post(
    '/recorder/resume',
    { schema: { summary: "Resumes a paused recorder (rosbag2's `~/resume`).", ...PAUSE_DOCS } },
    async (): Promise<PauseState> => requireRecorder().resume(),
  );

  app.post<{ Body: Static<typeof SplitBody> }>(
    '/recorder/split',
    {
      schema: {
        body: SplitBody,
        summary: "Closes the split being recorded (rosbag2's `~/split_bagfile`), so queries see it once indexed.",
        description:
          '`split.closed_now` is false when nothing was recorded since the last split closed: `split` is that one. ' +
          '`split` is null while the bag being recorded has no message yet. A `timeout` indexing goes on.',
        reply: `{split: {file, bag, messages, start_ns, end_ns, closed_now} | null, indexing: ${INDEXING}}`,
        statuses: {
          409: '`not_recording`: the recorder is not recording (disk full, failed), with the reason',
          503: '`unavailable`: the recorder is not running',
        },
      },
    },
    async (request): Promise<SplitReply> => {
      const recorder = requireRecorder();
      let split: ClosedSplit | undefined;
      try {
        split = await recorder.split();
      } catch (error) {
        const e = error as Error & { statusCode?: number; code?: string };
        if (e.statusCode === 409) throw new HttpError(e.code === 'not_recording' ? e.code : 'conflict', e.message);
        throw error;
      }
      if (!split) return { split: null, indexing: null };
      if (!request.body.wait) return { split, indexing: { state: 'not_waited' } };
      const lakehouse = ctx.ports.get(PORTS.lakehouse);
      if (typeof lakehouse?.splitIndexing !== 'function') return { split, indexing: noLakehouse() };
      return { split, indexing: await indexedWithin(lakehouse.splitIndexing(split.file), request.body.timeout_ms) };
    },
  );

  /**
   * POST /recorder/snapshot: rosbag2's `~/snapshot`. Writes what the snapshot buffer holds (the last
   * recorder.snapshot.max_duration_s of the bus) to a new bag under <data_dir>/bags and answers with it,
   * once indexed as /recorder/split does (`wait`, `timeout_ms`). A request while a snapshot is being written
   * gets that one (`joined: true`). 503 when the snapshot component is not running, 507 when the disk is full
   * (the buffer is kept), 500 for another I/O error.
   */
  app.post<{ Body: Static<typeof SplitBody> }>(
    '/recorder/snapshot',
    {
      schema: {
        body: SplitBody,
        summary: "Writes the snapshot buffer to a new bag under <data_dir>/bags (rosbag2's `~/snapshot`).",
        description:
          'The buffer holds the last `recorder.snapshot.max_duration_s` of the bus. A request while a snapshot is ' +
          'written gets that one (`joined: true`); `snapshot` is null when the buffer holds no message.',
        reply: `{snapshot: {bag, file, messages, start_ns, end_ns, topics: {<topic>: count}, joined} | null, indexing: ${INDEXING}}`,
        statuses: {
          500: '`snapshot_failed`: another I/O error',
          503: '`unavailable`: the snapshot component is not running (`recorder.snapshot.enabled: true`)',
          507: '`insufficient_storage`: the disk is full; the buffer is kept',
        },
      },
    },
    async (request): Promise<SnapshotReply> => {
      const snapshotter = ctx.ports.get(PORTS.snapshot);
      if (!snapshotter) {
        const why = absentReason(ctx, SERVICE_NAMES.snapshot);
        throw unavailable(
          'the snapshot buffer',
          ctx.daemonStatus().components.snapshot
            ? why
            : `${why}: set recorder.snapshot.enabled: true (and reload the daemon)`,
        );
      }
      let snapshot: TakenSnapshot | undefined;
      try {
        snapshot = await snapshotter.snapshot();
      } catch (error) {
        const e = error as Error & { statusCode?: number; code?: string };
        if (e.statusCode === 503) throw unavailable('the snapshot buffer', e.message);
        if (e.code === 'ENOSPC' || e.code === 'EDQUOT') throw new HttpError('insufficient_storage', e.message);
        throw new HttpError('snapshot_failed', e.message);
      }
      if (!snapshot) return { snapshot: null, indexing: null };
      if (!request.body.wait) return { snapshot, indexing: { state: 'not_waited' } };
      const lakehouse = ctx.ports.get(PORTS.lakehouse);
      if (typeof lakehouse?.splitIndexing !== 'function') return { snapshot, indexing: noLakehouse() };
      return {
        snapshot,
        indexing: await indexedWithin(lakehouse.splitIndexing(snapshot.file), request.body.timeout_ms),
      };
    },
  );
};

/** The split's indexing as the lakehouse says it within `ms`, else that it goes on. */
function indexedWithin(indexing: Promise<SplitIndexing>, ms: number): Promise<SplitReply['indexing']> {
  return within(indexing, ms, {
    state: 'timeout' as const,
    reason: `not indexed within ${ms} ms (the lakehouse's queue is behind); it goes on`,
  });
}
