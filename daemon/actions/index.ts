export {
  actionEndpoints,
  actionOfService,
  actionTypeOfSendGoal,
  CANCEL_CODE,
  GOAL_STATUS,
  goalState,
  isTerminal,
  type GoalState,
} from './action-names.ts';
export {
  BusActionClient,
  type ActionClientOptions,
  type ActionOutcome,
  type GoalHandle,
  type SendGoalOptions,
} from './action-client.ts';
export {
  BusActionServer,
  type ActionHandler,
  type ActionServerOptions,
  type GoalContext,
  type GoalOutcome,
} from './action-server.ts';
export { ActionGoals, type CancelledGoal } from './action-goals.ts';
export { goalIdHex, newGoalId, uuidMessage } from './goal-id.ts';
export { jsonText } from './json-payload.ts';
export { listActions, type ActionEndpoint, type ActionInfo } from './action-list.ts';
