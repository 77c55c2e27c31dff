import { describe, expect, it } from 'vitest';
import { typeDescriptionHash } from '../../daemon/bus/type-hash.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { useZenohNetwork } from './zenoh-network.ts';

const SCAN = 'sensor_msgs/msg/LaserScan';

// An rmw_zenoh node announces each subscriber with a token, which is what `ros2 topic list -v` and `ros2 topic info`
// read. Seen against rmw_zenoh_cpp 0.2.10: the daemon bridged /chatter onto the bus with no token, so the ROS 2
// graph showed no subscriber of it.
describe("the daemon's subscriber of a graph topic (rmw_zenoh mapping)", () => {
  const zn = useZenohNetwork();
  const { cleanups, peer } = zn;

  it('is announced while it is bridged, with the topic, type, hash and QoS, and goes with the last publisher', async () => {
    const { daemon, stop } = await startDaemon({
      zenoh: { enabled: true, endpoint: zn.net.wsUrl, node_name: 'edge', topics: ['/scan'] },
    });
    cleanups.push(stop);
    await waitFor(() => daemon.componentHealth().zenoh!.state === 'running', 'the Zenoh link');
    const watcher = await peer({ node: 'watcher', liveliness: true });
    const hash = typeDescriptionHash(daemon.definitions, SCAN)!;
    const lidar = await peer({ node: 'lidar', publish: { topic: '/scan', type: SCAN, hash } });
    const isOurs = (e: { event: string; key?: unknown }) =>
      e.event === 'token' && /\/MS\/%\/%\/edge\/%scan\//.test(String(e.key));
    const announced = await watcher.next((e) => isOurs(e) && e.alive === true, "the daemon's /scan subscriber token");
    expect(String(announced.key)).toMatch(
      new RegExp(
        `^@ros2_lv/0/[0-9a-f]+/\\d+/\\d+/MS/%/%/edge/%scan/sensor_msgs::msg::dds_::LaserScan_/${hash}/::,10:,:,:,,$`,
      ),
    );

    await lidar.close();
    await watcher.next((e) => isOurs(e) && e.alive === false, 'the subscriber token gone with the publisher');
  });
});
