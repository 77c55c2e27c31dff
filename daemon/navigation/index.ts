export { PathPlanner, planPath, type PlanFailure, type PlanOptions, type PlanResult } from './astar.ts';
export { clearanceField, inflate, isLethal, LETHAL_THRESHOLD } from './costmap.ts';
export { formatPoint, normalizeAngle, type Point2D, type Pose2D } from './geometry.ts';
export { cellCentre, cellOf, describeExtent, FREE, OCCUPIED, UNKNOWN, type Grid } from './grid.ts';
export { PathFollower, type FollowerCommand, type FollowerScan, type PathFollowerOptions } from './path-follower.ts';
export { Navigator } from './navigator.ts';
export { poseOf, type OdometryMsg } from './ros-messages.ts';
