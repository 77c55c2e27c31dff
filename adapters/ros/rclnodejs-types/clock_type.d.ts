// Vendored unmodified below this line from rclnodejs@2.2.0 types/clock_type.d.ts (Apache-2.0, see LICENSE here).
declare module 'rclnodejs' {
  /**
   * Clock type identifiers
   */
  enum ClockType {
    ROS_TIME = 1,
    SYSTEM_TIME = 2,
    STEADY_TIME = 3,
  }
}
