export { latchedMessage, latchReport, releaseLatchFile, StopLatch, StopLatchConflict } from './stop-latch.ts';
export { stopLatchHook, stopLatchPath } from './stop-latch.ts';
export { parseStopQuery, RobotNotStoppedError, type StopOrder } from './stop-order.ts';
export { STOP_QUERY, StopService } from './stop-service.ts';
export { STOP_REPLY_WAIT_MS, StopAuthority } from './stop-authority.ts';
export { isStopEvent, STOP_EVENT_KINDS, type StopEventPayload } from './stop-event.ts';
export { StopLine } from '../util/index.ts';
export { ArmHold } from './arm-hold.ts';
