import type { TopicQos } from '../bus/index.ts';

/** action_msgs/msg/GoalStatus's states. */
export const GOAL_STATUS = {
  unknown: 0,
  accepted: 1,
  executing: 2,
  canceling: 3,
  succeeded: 4,
  canceled: 5,
  aborted: 6,
} as const;

export type GoalState = keyof typeof GOAL_STATUS;

const STATE_OF = new Map<number, GoalState>(Object.entries(GOAL_STATUS).map(([k, v]) => [v, k as GoalState]));

/** The name of a GoalStatus value (`unknown` for a value action_msgs does not define). */
export function goalState(status: number): GoalState {
  return STATE_OF.get(status) ?? 'unknown';
}

export function isTerminal(state: GoalState): boolean {
  return state === 'succeeded' || state === 'canceled' || state === 'aborted';
}

/** action_msgs/srv/CancelGoal's return codes. */
export const CANCEL_CODE = { none: 0, rejected: 1, unknownGoalId: 2, goalTerminated: 3 } as const;

const SEND_GOAL = '/_action/send_goal';

/**
 * The services and topics an action is made of, named and typed as rcl_action names them, so that a bridge
 * that carries services and topics carries actions: `<action>/_action/send_goal` (`<type>_SendGoal`),
 * `cancel_goal` (action_msgs/srv/CancelGoal), `get_result` (`<type>_GetResult`), and the topics
 * `<action>/_action/feedback` (`<type>_FeedbackMessage`) and `<action>/_action/status` (GoalStatusArray).
 */
export function actionEndpoints(name: string, type: string) {
  return {
    sendGoal: `${name}${SEND_GOAL}`,
    cancelGoal: `${name}/_action/cancel_goal`,
    getResult: `${name}/_action/get_result`,
    feedback: `${name}/_action/feedback`,
    status: `${name}/_action/status`,
    types: {
      goal: `${type}_Goal`,
      result: `${type}_Result`,
      feedback: `${type}_Feedback`,
      sendGoal: `${type}_SendGoal`,
      getResult: `${type}_GetResult`,
      cancelGoal: 'action_msgs/srv/CancelGoal',
      feedbackMessage: `${type}_FeedbackMessage`,
      status: 'action_msgs/msg/GoalStatusArray',
    },
  };
}

/** The action a service name belongs to, when it is an action's send_goal service. */
export function actionOfService(service: string): string | undefined {
  return service.endsWith(SEND_GOAL) ? service.slice(0, -SEND_GOAL.length) : undefined;
}

/** The action type of an action's send_goal service type (`pkg/action/X_SendGoal` is `pkg/action/X`). */
export function actionTypeOfSendGoal(serviceType: string): string | undefined {
  const m = /^(.+\/action\/.+)_SendGoal$/.exec(serviceType);
  return m?.[1];
}

/** rcl_action's status QoS: a late client is handed the current statuses. */
export const STATUS_QOS: TopicQos = { reliability: 'reliable', durability: 'transient_local', depth: 1 };
/** rcl_action's feedback QoS (the services' default). */
export const FEEDBACK_QOS: TopicQos = { reliability: 'reliable', durability: 'volatile', depth: 10 };
