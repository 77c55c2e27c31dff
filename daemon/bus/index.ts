export {
  Bus,
  Publisher,
  Subscription,
  type AdvertiseOptions,
  type BusOptions,
  type SubscribeOptions,
  type TopicReservation,
} from './bus.ts';
export { MessageCodec, DecodeError } from './codec.ts';
export {
  canonicalType,
  DefinitionsRegistry,
  UnknownTypeError,
  type BuiltinDistro,
  type ResolvedType,
} from './definitions.ts';
export { BusError, QueryError, type QueryErrorCode } from './errors.ts';
export {
  RobotGraph,
  type GraphChange,
  type GraphEndpoint,
  type GraphEndpointKind,
  type GraphName,
  type GraphNode,
} from './graph.ts';
export {
  compileBagTopicSelection,
  compileRecordSelection,
  compileTopicGlob,
  compileTopicSelection,
  isHiddenTopic,
} from './glob.ts';
export { SubscriberQueue } from './subscriber-queue.ts';
export type * from './types.ts';
export { MAX_TIMEOUT_MS } from './bus.ts';
export { FieldValidator } from './field-validator.ts';
export { typeDescriptionHash } from './type-hash.ts';
export { fillResponse, saysOutcome } from './service-response.ts';
