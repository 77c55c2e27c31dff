import Type from 'typebox';
import { RosName } from '../../names/index.ts';
import { BusActionClient } from '../../actions/index.ts';
import { defineSkill } from './skill.ts';

/** Feedback journaled per goal at most this often, wall ms: a 50 Hz feedback stream must not flood the journal. */
const FEEDBACK_EVERY_MS = 500;

export const callAction = defineSkill({
  name: 'call_action',
  description:
    "Send a goal to an action server on the robot (Nav2's /navigate_to_pose, MoveIt, a gripper) and wait for its result. Returns the result; fails when the goal is rejected, aborted, canceled or times out.",
  parameters: Type.Object(
    {
      name: RosName({ maxLength: 256, description: 'the action, e.g. /navigate_to_pose' }),
      type: Type.Optional(
        Type.String({
          pattern: '^[A-Za-z0-9_]+/action/[A-Za-z0-9_]+$',
          description: 'e.g. nav2_msgs/action/NavigateToPose; not needed for an action in agent.actions',
        }),
      ),
      goal: Type.Record(Type.String(), Type.Unknown(), { description: "the goal's fields" }),
      timeout_s: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'at most the configured timeout' })),
    },
    { additionalProperties: false },
  ),
  // A goal moves the robot (Nav2, MoveIt, a gripper): one motion at a time, and the operator's stop or the run's end
  // cancels it through the signal.
  motion: true,
  cancellable: true,
  async execute({ name, type, goal, timeout_s: asked }, env, signal, note) {
    const known = env.settings.actions[name];
    if (known && type !== undefined && type !== known.type)
      throw new Error(`call_action ${name}: agent.actions says its type is ${known.type}, not ${type}`);
    const actionType = known?.type ?? type;
    if (actionType === undefined)
      throw new Error(
        `call_action ${name}: give its type (e.g. nav2_msgs/action/NavigateToPose), or list it in agent.actions`,
      );
    const limitS = known?.timeout_s ?? env.settings.action_timeout_s;
    const timeoutS = Math.min(asked ?? limitS, limitS);
    const client = new BusActionClient({
      bus: env.bus,
      codec: env.codec,
      name,
      type: actionType,
      track: env.actionGoals,
    });
    let lastNoted = 0;
    let skipped = 0;
    try {
      const handle = await client.sendGoal(goal, {
        onFeedback: (feedback) => {
          const now = performance.now();
          if (now - lastNoted < FEEDBACK_EVERY_MS) return void skipped++;
          lastNoted = now;
          note?.('action.feedback', { action: name, feedback, skipped });
          skipped = 0;
        },
      });
      if (handle === undefined) throw new Error(`call_action ${name}: the action server rejected the goal`);
      note?.('action.goal', { action: name, type: actionType, goal_id: handle.goalId });
      const outcome = await handle.result({ timeoutMs: timeoutS * 1000, signal });
      note?.('action.result', { action: name, goal_id: handle.goalId, state: outcome.state, result: outcome.result });
      if (outcome.state !== 'succeeded')
        throw new Error(
          `call_action ${name}: the goal ended ${outcome.state}${outcome.reason ? ` (${outcome.reason})` : ''}: ${JSON.stringify(outcome.result)}`,
        );
      return { action: name, goal_id: handle.goalId, state: outcome.state, result: outcome.result };
    } finally {
      client.close();
    }
  },
});
