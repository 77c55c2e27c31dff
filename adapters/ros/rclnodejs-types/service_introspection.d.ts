// Vendored unmodified below this line from rclnodejs@2.2.0 types/service_introspection.d.ts (Apache-2.0, see LICENSE here).
declare module 'rclnodejs' {
  /**
   * State identifiers for service introspection support.
   */
  export const enum ServiceIntrospectionStates {
    OFF = 0,
    METADATA = 1,
    CONTENTS = 2,
  }
}
