import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runMain, tempDir } from '../helpers/cli.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

const cleanups = cleanupStack();

/** Both Zenoh mappings on, each link to its own router: the sides rmw_zenoh and ros2dds exist, ros does not. */
const JOINED = {
  zenoh: {
    enabled: true,
    endpoint: 'ws://127.0.0.1:10000',
    mapping: 'rmw_zenoh',
    second_link: { enabled: true, endpoint: 'ws://127.0.0.1:10001', mapping: 'ros2dds' },
  },
};

async function check(config: object) {
  const dir = tempDir('relay-config-');
  cleanups.push(dir.cleanup);
  const file = join(dir.path, 'edge.yaml');
  writeFileSync(file, stringify(config));
  return runMain(['config', 'check', '--config', file]);
}

describe('config check of relays', () => {
  it('passes relays between the two enabled Zenoh sides, one way per topic, services and actions included', async () => {
    const r = await check({
      ...JOINED,
      relays: {
        topics: [
          { topic: '/chatter', from: 'ros2dds', to: 'rmw_zenoh' },
          { topic: '/cmd_vel', from: 'rmw_zenoh', to: 'ros2dds' },
        ],
        services: [
          { service: '/add_two_ints', type: 'example_interfaces/srv/AddTwoInts', from: 'ros2dds', to: 'rmw_zenoh' },
        ],
        actions: [{ action: '/fibonacci', type: 'test_msgs/action/Fibonacci', from: 'rmw_zenoh', to: 'ros2dds' }],
      },
    });
    expect(r.code, r.stdout).toBe(0);
  });

  it('refuses a topic relayed back to the side it came from, naming the key', async () => {
    const r = await check({
      ...JOINED,
      relays: {
        topics: [
          { topic: '/chatter', from: 'ros2dds', to: 'rmw_zenoh' },
          { topic: '/chatter', from: 'rmw_zenoh', to: 'ros2dds' },
        ],
      },
    });
    expect(r.code, r.stdout).toBe(2);
    expect(r.stdout).toContain(
      'relays.topics[1]: /chatter from rmw_zenoh to ros2dds, while relays.topics[0] carries it',
    );
  });

  it('refuses a relay into its own side', async () => {
    const r = await check({ ...JOINED, relays: { topics: [{ topic: '/scan', from: 'rmw_zenoh', to: 'rmw_zenoh' }] } });
    expect(r.code, r.stdout).toBe(2);
    expect(r.stdout).toContain('relays.topics[0].to: rmw_zenoh, the side /scan comes from');
  });

  it('refuses a service two sides would serve, and one relayed both ways', async () => {
    const r = await check({
      ...JOINED,
      relays: {
        services: [
          { service: '/reset', type: 'std_srvs/srv/Trigger', from: 'ros2dds', to: 'rmw_zenoh' },
          { service: '/reset', type: 'std_srvs/srv/Trigger', from: 'rmw_zenoh', to: 'ros2dds' },
        ],
      },
    });
    expect(r.code, r.stdout).toBe(2);
    expect(r.stdout).toContain('relays.services[1]: /reset from rmw_zenoh to ros2dds');
  });

  it('refuses a side that no enabled bridge speaks: ros while ros.enabled is false, ros2dds with no second link', async () => {
    const r = await check({
      zenoh: { enabled: true, mapping: 'rmw_zenoh' },
      relays: {
        topics: [{ topic: '/chatter', from: 'ros', to: 'rmw_zenoh' }],
        actions: [{ action: '/fibonacci', type: 'test_msgs/action/Fibonacci', from: 'rmw_zenoh', to: 'ros2dds' }],
      },
    });
    expect(r.code, r.stdout).toBe(2);
    expect(r.stdout).toContain('relays.topics[0].from: names ros, but ros.enabled is false');
    expect(r.stdout).toContain('relays.actions[0].to: names ros2dds, but no enabled Zenoh link has mapping ros2dds');
  });

  it('refuses a second link of the same mapping as the first, and one without zenoh on', async () => {
    const same = await check({
      zenoh: { enabled: true, mapping: 'ros2dds', second_link: { enabled: true, mapping: 'ros2dds' } },
    });
    expect(same.code, same.stdout).toBe(2);
    expect(same.stdout).toContain('zenoh.second_link.mapping: ros2dds, the same as zenoh.mapping');
    const off = await check({ zenoh: { second_link: { enabled: true } } });
    expect(off.code, off.stdout).toBe(2);
    expect(off.stdout).toContain('zenoh.second_link.enabled: true while zenoh.enabled is false');
  });

  it('passes an action relayed from a Zenoh side into the ROS 2 bridge, with its topics', async () => {
    const r = await check({
      ros: { enabled: true },
      zenoh: { enabled: true, mapping: 'rmw_zenoh' },
      relays: {
        topics: [
          { topic: '/cmd_vel', from: 'rmw_zenoh', to: 'ros' },
          { topic: '/chatter', from: 'rmw_zenoh', to: 'ros' },
        ],
        actions: [{ action: '/fibonacci', type: 'test_msgs/action/Fibonacci', from: 'rmw_zenoh', to: 'ros' }],
      },
    });
    expect(r.code, r.stdout).toBe(0);
  });

  it('still refuses an action into the ROS 2 bridge relayed back, into its own side, or with ros off', async () => {
    const FIB = 'test_msgs/action/Fibonacci';
    const r = await check({
      ros: { enabled: true },
      zenoh: { enabled: true, mapping: 'rmw_zenoh' },
      relays: {
        actions: [
          { action: '/fibonacci', type: FIB, from: 'rmw_zenoh', to: 'ros' },
          { action: '/fibonacci', type: FIB, from: 'ros', to: 'rmw_zenoh' },
          { action: '/dock', type: FIB, from: 'ros', to: 'ros' },
        ],
      },
    });
    expect(r.code, r.stdout).toBe(2);
    expect(r.stdout).toContain(
      'relays.actions[1]: /fibonacci from ros to rmw_zenoh, while relays.actions[0] carries it from rmw_zenoh to ros',
    );
    expect(r.stdout).toContain('relays.actions[2].to: ros, the side /dock comes from');
    const off = await check({
      zenoh: { enabled: true, mapping: 'rmw_zenoh' },
      relays: { actions: [{ action: '/fibonacci', type: FIB, from: 'rmw_zenoh', to: 'ros' }] },
    });
    expect(off.code, off.stdout).toBe(2);
    expect(off.stdout).toContain('relays.actions[0].to: names ros, but ros.enabled is false');
  });

  it('refuses a glob where a relay needs one name', async () => {
    const r = await check({
      ...JOINED,
      relays: { topics: [{ topic: '/camera/**', from: 'ros2dds', to: 'rmw_zenoh' }] },
    });
    expect(r.code, r.stdout).toBe(2);
    expect(r.stdout).toContain('relays.topics[0].topic');
  });
});
