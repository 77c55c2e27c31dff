// The protocol between a robot and central, as both sides use it: the topics, the wire formats and their schemas,
// command signatures, and the two settings either side opens its MQTT connection with. The reference central
// (its own package, central/) imports this as `auraison-edge/protocol`; the robot's link builds on it.
export { ACK_SCHEMA, type Ack, type AckStatus } from './intent-intake.ts';
export { EVENTS_SCHEMA, type LostRange } from './events-packer.ts';
export { centralTopics, stopLogin, type CentralTopics } from './topics.ts';
export { readTlsFiles } from './link-settings.ts';
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
export {
  COMMAND_TOPICS,
  parseCommandKey,
  rawPublicKey,
  signCommand,
  type CommandAddress,
  type CommandTopic,
} from './command-signature.ts';
