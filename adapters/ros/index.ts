export { importRclnodejs, RCLNODEJS_VERSION, type RclnodejsLoader } from './load-rclnodejs.ts';
export { typeClass, type Rcl, type Rclnodejs, type RosNode, type TopicEndpointInfo } from './rcl-api.ts';
export { inboundSelection, RosComponent } from './ros-component.ts';
