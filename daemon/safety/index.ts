export { onStopWithoutAgent, releaseWithoutAgent, stopWithoutAgent } from './agentless-stop.ts';
export { operatorRelease, operatorStop, type OperatorStopContext } from './operator-stop.ts';
export {
  latchedMessage,
  releaseLatchFile,
  StopLatch,
  StopLatchConflict,
  stopLatchHook,
  stopLatchPath,
} from './stop-latch.ts';
export { parseStopQuery, RobotNotStoppedError, type StopOrder } from './stop-order.ts';
export { STOP_QUERY, StopService } from './stop-service.ts';
export { latchReport } from './stop-latch.ts';
