import type { FastifyPluginAsync } from 'fastify';
import Type, { type Static } from 'typebox';
import { BusActionClient, jsonText, listActions, type ActionOutcome } from '../../actions/index.ts';
import { QueryError } from '../../bus/index.ts';
import { nameScope } from '../../config/index.ts';
import { resolveName, RosName } from '../../names/index.ts';
import { doorGuard } from '../../motion/index.ts';
import { HttpError } from '../errors.ts';
import type { RouteContext } from './route-context.ts';
import { errorText } from '../../util/index.ts';

const GoalBody = Type.Object(
  {
    name: RosName({
      maxLength: 256,
      description: 'the action, e.g. /navigate_to_pose (relative names resolve against ros.namespace)',
    }),
    type: Type.String({
      pattern: '^[A-Za-z0-9_]+/action/[A-Za-z0-9_]+$',
      description: 'e.g. test_msgs/action/Fibonacci',
    }),
    goal: Type.Record(Type.String(), Type.Unknown(), { default: {} }),
    feedback: Type.Boolean({ default: false, description: 'stream each feedback as a line' }),
    timeout_s: Type.Number({ exclusiveMinimum: 0, maximum: 86_400, default: 3600 }),
  },
  { additionalProperties: false },
);

const ACTIONS_DOCS = {
  summary: "The graph's and the bus's actions, as `ros2 action list -t` and `ros2 action info` see them.",
  reply: '{actions: [{name, types, servers, clients, onBus}]}',
};

/**
 * GET /actions: the graph's and the bus's actions, as `ros2 action list -t` and `ros2 action info` see them.
 * POST /actions/goal: sends one goal, as `ros2 action send_goal` does, and answers newline-delimited JSON: `{goal_id,
 * accepted}`, then `{feedback}` lines when asked, then `{state, result}`. Closing the request cancels the goal (as
 * Ctrl-C does to ros2 action send_goal). A goal is held to the geofence like the agent's, is one of the goals the
 * operator's stop cancels, and is refused (409 `stopped`) while that stop is latched.
 */
export const actionRoutes: FastifyPluginAsync<RouteContext> = async (app, { ctx, codec }) => {
  const guard = doorGuard(ctx, codec);
  app.get('/actions', { schema: ACTIONS_DOCS }, async () => ({
    actions: listActions(ctx.bus, ctx.graph.endpoints()),
  }));

  app.post<{ Body: Static<typeof GoalBody> }>(
    '/actions/goal',
    {
      schema: {
        body: GoalBody,
        summary: 'Sends one action goal, as `ros2 action send_goal` does, and streams its course.',
        description:
          "Closing the request cancels the goal. The goal is held to the geofence like the agent's and is one " +
          "of the goals the operator's stop cancels.",
        reply:
          'application/x-ndjson: {goal_id, accepted: true}, then {feedback} lines when asked, then {state, result}; ' +
          '{accepted: false} when the server refused it',
        statuses: {
          400: '`bad_name` (not a ROS 2 name) or `bad_goal` (not a goal of the type)',
          403: '`geofence`: the goal lies outside `motion.geofence`; `joint_limits`: an arm goal outside `motion.joints`',
          404: '`no_action_server`: no server of the action is on the bus',
          409: "`stopped`: the operator's stop is latched",
        },
      },
    },
    async (request, reply) => {
      const { type, goal, feedback, timeout_s: timeoutS } = request.body;
      const named = resolveName(request.body.name, nameScope(ctx.config));
      if (!named.ok)
        throw new HttpError('bad_name', `${JSON.stringify(request.body.name)} is not a ROS 2 name: it ${named.rule}`);
      const { name } = named;
      // The motion guard, as on the agent's call_action: no goal goes out while the operator's stop is latched, nor
      // one outside the geofence or an arm's limits.
      const refused = guard().goalRefusal(type, goal);
      if (refused?.rule === 'stop_latch') throw new HttpError('stopped', `${refused.reason}: the goal was not sent`);
      if (refused?.rule === 'geofence') throw new HttpError('geofence', `${refused.reason}: not sent`);
      if (refused) throw new HttpError('joint_limits', refused.reason);
      const client = new BusActionClient({ bus: ctx.bus, codec, name, type, track: ctx.actionGoals });
      const early: string[] = [];
      let streaming = false;
      const cancelled = new AbortController();
      let handle;
      try {
        handle = await client.sendGoal(goal, {
          onFeedback: feedback
            ? (f) => {
                // Decoded from CDR: an int32[] is an Int32Array, which plain JSON writes as {"0": 0, ...}.
                const line = jsonText({ feedback: f });
                if (streaming) reply.raw.write(`${line}\n`);
                else early.push(line);
              }
            : undefined,
        });
      } catch (error) {
        client.close();
        if (error instanceof QueryError && error.code === 'no_queryable')
          throw new HttpError('no_action_server', `no server of action ${name} is on the bus`);
        throw new HttpError('bad_goal', errorText(error));
      }
      if (handle === undefined) {
        client.close();
        return { accepted: false };
      }
      reply.raw.writeHead(200, { 'content-type': 'application/x-ndjson' });
      // The response's close, not the request's: a request closes once its body is read.
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished) cancelled.abort(new Error('the HTTP client went away'));
      });
      reply.raw.write(`${JSON.stringify({ goal_id: handle.goalId, accepted: true })}\n`);
      // Feedback that came before the acceptance line went out follows it.
      streaming = true;
      for (const line of early.splice(0)) reply.raw.write(`${line}\n`);
      let outcome: ActionOutcome;
      try {
        outcome = await handle.result({ timeoutMs: timeoutS * 1000, signal: cancelled.signal });
      } finally {
        client.close();
      }
      reply.raw.end(`${JSON.stringify(outcome)}\n`);
      return reply;
    },
  );
};
