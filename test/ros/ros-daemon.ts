import { rosComponent } from '../../daemon/components/ros.ts';
import { COMPONENTS } from '../../daemon/components/index.ts';
import type { ComponentHealth } from '../../daemon/lifecycle/component.ts';
import { RosWorld } from '../doubles/rclnodejs/index.ts';
import { startDaemon } from '../helpers/daemon.ts';

/**
 * A daemon as a user runs it with `ros.enabled: true`, whose component registry loads the rclnodejs double
 * in place of rclnodejs, joined to `world`: the ROS graph the test's peers live in.
 */
export async function startRosDaemon(
  ros: Record<string, unknown>,
  extra: Record<string, unknown> = {},
  world = new RosWorld(),
) {
  const specs = COMPONENTS.map((spec) => (spec.name === 'ros' ? rosComponent(async () => world.module()) : spec));
  const started = await startDaemon({ ros: { enabled: true, graph_poll_ms: 50, ...ros }, ...extra }, 'ros-', specs);
  const health = (): ComponentHealth => started.daemon.status().components.ros!;
  const details = () =>
    (health().details ?? {}) as {
      topics_in: string[];
      topics_out: string[];
      services_called: string[];
      echo_dropped: number;
      messages_in: number;
      messages_out: number;
    };
  return { ...started, world, health, details };
}
