export { ZenohComponent } from './zenoh-component.ts';
export { ZenohLink, type LinkState, type ZenohLinkOptions } from './zenoh-link.ts';
export { loadZenoh, type ZenohModule } from './zenoh-runtime.ts';
export { rmwZenohMapping, ros2ddsMapping, type Mapping } from './mapping.ts';
export * as rmwZenoh from './rmw-zenoh-keys.ts';
