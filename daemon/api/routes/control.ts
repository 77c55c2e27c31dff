import type { FastifyPluginAsync } from 'fastify';
import Type, { type Static } from 'typebox';
import { PORTS, SERVICE_NAMES, type LoopStartRefusal } from '../../contract/index.ts';
import type { ApiErrorCode } from '../error-codes.ts';
import { HttpError, unavailable } from '../errors.ts';
import { absentReason } from '../services.ts';
import type { RouteContext } from './route-context.ts';

const LoopParams = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 128, description: 'control.loops.<name>' }) },
  { additionalProperties: false },
);

const CODE_OF: Record<LoopStartRefusal, ApiErrorCode> = {
  unknown_loop: 'not_found',
  latched: 'stopped',
  stopped: 'conflict',
};

/**
 * POST /control/loops/:name/start: the operator's start of an autostart loop held since the stop's release (a
 * release lets the robot move again; it moves nothing). The local operator's door, with or without the agent;
 * the start_loop skill is the agent's (MCP, central). Refused while the stop is latched.
 */
export const controlRoutes: FastifyPluginAsync<RouteContext> = async (app, { ctx }) => {
  app.post<{ Params: Static<typeof LoopParams> }>(
    '/control/loops/:name/start',
    {
      schema: {
        params: LoopParams,
        summary: "Lets an autostart control loop held since the stop's release drive again.",
        description:
          'After `POST /stop/release` each autostart loop holds its safe action until an operator starts it. `started` is false when nothing held it.',
        reply: '{loop, started, message}',
        statuses: {
          404: '`not_found`: no autostart loop of that name',
          409: '`stopped`: the stop is latched (release it first); `conflict`: a stop without a latch ended the loop',
          503: '`unavailable`: no control loops run',
        },
      },
    },
    async (request) => {
      const loops = ctx.ports.get(PORTS.loops);
      if (!loops) throw unavailable('the control loops', absentReason(ctx, SERVICE_NAMES.control));
      const { name } = request.params;
      const outcome = loops.startLoop(name);
      if (outcome.refused) throw new HttpError(CODE_OF[outcome.refused], outcome.message);
      return { loop: name, started: outcome.started, message: outcome.message };
    },
  );
};
