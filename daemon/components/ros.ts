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
    }),
    create: async (ctx) => {
      const { importRclnodejs, RosComponent } = await import('../../adapters/ros/index.ts');
      return new RosComponent(ctx, loadRclnodejs ?? (() => importRclnodejs({ from: ctx.config.ros.rclnodejs })));
    },
  };
}

export const ROS_COMPONENTS: readonly ComponentSpec[] = [rosComponent()];
