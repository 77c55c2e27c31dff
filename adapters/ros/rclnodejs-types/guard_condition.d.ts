// Vendored unmodified below this line from rclnodejs@2.2.0 types/guard_condition.d.ts (Apache-2.0, see LICENSE here).
declare module 'rclnodejs' {
  /**
   * A ROS guard condition containing a callback executed when the
   * guard condition is triggered.
   */
  interface GuardCondition extends Entity {
    /**
     * Triggers the guard condition.
     */
    trigger(): void;
  }
}
