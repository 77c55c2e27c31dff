export { DoubleNode } from './node.ts';
export { RosWorld, type Fault } from './world.ts';
