import { describe, expect, it } from 'vitest';
import { typeDescriptionHash } from '../../daemon/bus/type-hash.ts';
import { startTopicDaemon } from '../api/topic-daemon.ts';
import { runMain } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { useZenohNetwork } from './zenoh-network.ts';

describe('auraison-edge topic list -v with a Zenoh graph', () => {
  const zn = useZenohNetwork();

  it("shows the graph's publishers and subscribers with their types beside the daemon's own bus topics, as ros2 topic list -v", async () => {
    const started = await startTopicDaemon(
      {
        foxglove: { port: 0 },
        agent: { enabled: false },
        zenoh: { enabled: true, endpoint: zn.net.wsUrl, topics: ['/lidar'] },
      },
      'zenoh-topic-list-',
    );
    zn.cleanups.push(started.stop);
    const hash = typeDescriptionHash(started.daemon.definitions, 'sensor_msgs/msg/LaserScan')!;
    await zn.peer({ node: 'lidar_driver', publish: { topic: '/lidar', type: 'sensor_msgs/msg/LaserScan', hash } });
    await zn.peer({ node: 'talk_listener', subscribe: { topic: '/chatter', type: 'std_msgs/msg/String' } });
    // Each peer by its own endpoint: a count would be met by the daemon's own /lidar subscriber before /chatter's.
    const { graph } = started.daemon;
    await waitFor(
      () =>
        graph.endpoints({ name: '/lidar', kind: 'publisher' }).length > 0 &&
        graph.endpoints({ name: '/chatter', kind: 'subscriber' }).length > 0,
      'the peers in the graph',
    );

    const r = await runMain(['topic', 'list', '-v', '--config', started.config], { cwd: started.dir });
    expect(r.code, r.stderr).toBe(0);
    const [published, subscribed] = r.stdout.split('\n\n');
    expect(published).toMatch(/^Published topics:\n/);
    expect(published).toContain(' * /lidar [sensor_msgs/msg/LaserScan] 1 publisher\n');
    expect(published).toContain(' * /odom [nav_msgs/msg/Odometry] 1 publisher'); // the sim's, on the bus alone
    expect(subscribed).toMatch(/^Subscribed topics:\n/);
    expect(subscribed).toContain(' * /chatter [std_msgs/msg/String] 1 subscriber');
  });
});
