export { CentralLink } from './central-link.ts';
export { ACK_SCHEMA, type Ack, type AckStatus } from './intent-intake.ts';
export { EVENTS_SCHEMA, type LostRange } from './outbox.ts';
export { outboxCursorPath, type CursorState } from './outbox-cursor.ts';
export { centralTopics, type CentralTopics } from './topics.ts';
export { centralClientId, connackRefusal, readTlsFiles } from './link-settings.ts';
export {
  GRANTS_SCHEMA,
  UPLOADS_SCHEMA,
  grantsValidator,
  partCount,
  partRange,
  syncFileId,
  uploadsValidator,
  type Complete,
  type GrantsMessage,
  type Lost,
  type MultipartGrant,
  type Offer,
  type SingleGrant,
  type SyncKind,
  type UploadedPart,
  type UploadsMessage,
} from './sync-protocol.ts';
export { noDelay } from './no-delay.ts';
export { RESEND_SCHEMA } from './resend.ts';
export { NO_KEY_REMEDY } from './command-signature-check.ts';
export {
  COMMAND_TOPICS,
  parseCommandKey,
  rawPublicKey,
  signCommand,
  type CommandAddress,
  type CommandTopic,
} from './command-signature.ts';
