export { latchedMessage, latchReport, releaseLatchFile, StopLatch, StopLatchConflict } from './halt-latch.ts';
export { stopLatchHook, stopLatchPath } from './halt-latch.ts';
export { parseStopQuery, RobotNotStoppedError, type StopOrder } from './halt-order.ts';
export { STOP_QUERY, StopService } from './halt-service.ts';
export { STOP_REPLY_WAIT_MS, StopAuthority } from './halt-authority.ts';
export { isStopEvent, STOP_EVENT_KINDS, type StopEventPayload } from './halt-event.ts';
export { StopLine } from './halt-line.ts';
export { STOP_TAKEN_HEADER, stopCalls, type StopCall } from './mcp-halt-calls.ts';
export { ArmHold } from './arm-hold.ts';
