import type { FastifyPluginAsync } from 'fastify';
import type { Static, TSchema } from 'typebox';
import type { RobotHaltOutcome, HaltReleaseOutcome } from '../../contract/index.ts';
import { HaltReleaseRequest, HaltRequest } from '../../contract/index.ts';
import { Validator, ValidationError } from '../../util/index.ts';
import { HaltLatchConflict } from '../../halt/index.ts';
import { HttpError, validationHttpError } from '../errors.ts';
import type { RouteContext } from './route-context.ts';

const HaltBody = new Validator(HaltRequest);
const ReleaseBody = new Validator(HaltReleaseRequest);

const HALT_DOCS = {
  summary: "The operator's stop: the robot stops at once, then every run that has not ended is cancelled.",
  description:
    'A zero Twist goes to every governed velocity topic, agent or none. With `motion.stop.latch` (the default) the ' +
    "stop holds until released; a stop while latched keeps the first latch's `by`, `reason` and `since`, and is " +
    'counted in its `again` (`count`, and the latest `by`, `reason`, `at`). It answers ' +
    'within about a second whatever the disk does; the stop listener (api.md) takes it off the event loop.',
  optionalBody: HaltRequest,
  reply:
    '{topic, aborted, cancelled: [run id], journal_error, latched: {by, reason, since, persisted, error, again?} | null, zeroed}',
  statuses: {
    400: 'a body other than `{by?, reason?}`: nothing is stopped',
    500: '`not_stopped`: the zero Twist could not be sent (the runs are cancelled all the same)',
  },
};

const RELEASE_DOCS = {
  summary: 'Releases the latched stop: the robot may move again; nothing that was stopped restarts.',
  optionalBody: HaltReleaseRequest,
  reply: '{released, latch}; released is false and latch null when none was latched',
  statuses: {
    409: '`conflict`: `since` names another latch than the one held (a newer stop)',
    500: 'the latch file could not be removed: the latch holds, the message says why',
  },
};

/**
 * POST /stop: the operator's stop. The robot stops at once (the motion skill driving it is aborted and a
 * zero Twist goes to the velocity topic), then every run that has not ended, or is being accepted, is
 * cancelled. No body is needed (`curl -X POST .../stop`); a body that is not {by?, reason?} is a 400, and
 * nothing is stopped. 200 with what it did, within about a second whatever the disk does, also when the
 * journal refused or has not yet recorded the cancels (`journal_error`): the robot is stopped either way.
 * 500 `not_stopped` when the zero Twist could not be sent (the runs are cancelled all the same). With no
 * agent running, the zero Twist and the latch still go out (see HaltAuthority). With motion.stop.latch (the
 * default) the stop holds: POST /stop/release (`{by?, since?}`) releases it, 200 `{released, latch}`
 * (`released` false when none was held); 409 when `since` names another latch than the one held (a newer
 * stop the releaser has not seen).
 */
export const haltRoutes: FastifyPluginAsync<RouteContext> = async (app, { ctx }) => {
  // The daemon's one stop (its HaltAuthority), with the config in force, agent or none.
  app.post('/stop', { schema: HALT_DOCS }, async (request): Promise<RobotHaltOutcome> => {
    const body = parseBody(HaltBody, request.body);
    return ctx.haltAuthority.halt(body.by ?? 'api', body.reason);
  });

  // A person releases the latched stop: nothing restarts, new motion is taken from now on.
  app.post('/stop/release', { schema: RELEASE_DOCS }, async (request): Promise<HaltReleaseOutcome> => {
    const body = parseBody(ReleaseBody, request.body);
    try {
      return await ctx.haltAuthority.release(body.by ?? 'api', body.since);
    } catch (error) {
      if (error instanceof HaltLatchConflict) throw new HttpError('conflict', error.message);
      throw error;
    }
  });
};

/** No body at all is an empty request (`curl -X POST`); a body that does not fit is a 400 naming the path. */
function parseBody<T extends TSchema>(validator: Validator<T>, body: unknown): Partial<Static<T>> {
  try {
    return body === undefined ? {} : validator.parse(body, 'body');
  } catch (error) {
    if (error instanceof ValidationError) throw validationHttpError('body', error);
    throw error;
  }
}
