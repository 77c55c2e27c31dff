export { importRclnodejs, RCLNODEJS_VERSION, type RclnodejsLoader } from './load-rclnodejs.ts';
export type { Rcl, Rclnodejs, RosNode, TopicEndpointInfo } from './rcl-api.ts';
export { inboundSelection, RosComponent } from './ros-component.ts';
