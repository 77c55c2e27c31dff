export { latchedMessage, latchReport, releaseLatchFile, HaltLatch, HaltLatchConflict } from './halt-latch.ts';
export { haltLatchPath } from './halt-latch.ts';
export { parseHaltQuery, RobotNotHaltedError, type HaltOrder } from './halt-order.ts';
export { HALT_QUERY, HaltService } from './halt-service.ts';
export { HALT_REPLY_WAIT_MS, HaltAuthority } from './halt-authority.ts';
export { isHaltEvent, HALT_EVENT_KINDS, type HaltEventPayload } from './halt-event.ts';
export { HaltLine } from './halt-line.ts';
export { HALT_TAKEN_HEADER, haltCalls, type HaltCall } from './mcp-halt-calls.ts';
