// Vendored unmodified below this line from rclnodejs@2.2.0 types/entity.d.ts (Apache-2.0, see LICENSE here).
declare module 'rclnodejs' {
  /**
   * A common object in RCL.
   */
  interface Entity {
    options: object;
    readonly qos: QoS;
    readonly typedArrayEnabled: boolean;
    readonly typeClass: TypeClass;
    isDestroyed(): boolean;
  }
}
