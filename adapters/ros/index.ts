export { importRclnodejs, RCLNODEJS_VERSION, type RclnodejsLoader } from './load-rclnodejs.ts';
export {
  typeClass,
  type NamesAndTypes,
  type Rclnodejs,
  type RosClient,
  type RosNode,
  type RosPublisher,
  type RosQoS,
  type RosServiceResponse,
  type RosSubscription,
  type TopicEndpointInfo,
  type TypeClass,
} from './rcl-api.ts';
export { inboundSelection, RosComponent } from './ros-component.ts';
export { RosHaltServiceProcess } from './halt-service-process.ts';
