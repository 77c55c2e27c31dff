export * from './protocol.ts';
export { CentralLink } from './central-link.ts';
export { outboxCursorPath, type CursorState } from './outbox-cursor.ts';
export { centralClientId, connackRefusal } from './link-settings.ts';
export { NO_KEY_REMEDY } from './command-signature-check.ts';
