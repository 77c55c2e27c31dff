import type { RclnodejsLoader } from '../../adapters/ros/index.ts';
import type { ComponentSpec } from '../lifecycle/index.ts';

/**
 * The ROS 2 bridge, built with `loadRclnodejs` (rclnodejs itself unless a test gives a double). Its settings
 * take the recorder's selection too: a topic the recorder starts to keep must start to cross from ROS.
 */
export function rosComponent(loadRclnodejs?: RclnodejsLoader): ComponentSpec {
  return {
    name: 'ros',
    enabled: (config) => config.ros.enabled,
    settings: (config) => ({
      ros: config.ros,
      recorder: {
        enabled: config.recorder.enabled,
        include: config.recorder.include,
        exclude: config.recorder.exclude,
      },
      snapshot: {
        enabled: config.recorder.snapshot.enabled,
        include: config.recorder.snapshot.include,
        exclude: config.recorder.snapshot.exclude,
      },
      relays: config.relays,
      stop_service: config.motion.stop.ros_service,
    }),
    create: async (ctx) => {
      const { importRclnodejs, RosComponent } = await import('../../adapters/ros/index.ts');
      return new RosComponent(ctx, loadRclnodejs ?? (() => importRclnodejs({ from: ctx.config.ros.rclnodejs })));
    },
  };
}

/**
 * The operator's stop as a ROS 2 service from a process of its own (motion.stop.ros_service.process), off the main loop
 * where rclnodejs runs; it needs no rclnodejs, so it runs with or without the bridge.
 */
const ROS_STOP: ComponentSpec = {
  name: 'ros_stop',
  enabled: (config) => config.motion.stop.ros_service.process,
  settings: (config) => ({
    stop_service: config.motion.stop.ros_service,
    node_name: config.ros.node_name,
    namespace: config.ros.namespace,
    token: config.api.token,
  }),
  create: async (ctx) => {
    const { RosHaltServiceProcess } = await import('../../adapters/ros/index.ts');
    return new RosHaltServiceProcess(ctx);
  },
};

export const ROS_COMPONENTS: readonly ComponentSpec[] = [rosComponent(), ROS_STOP];
