import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BagTypeResolver } from '../../daemon/bags/message-types.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { FIXTURES, runMain, tempDir } from '../helpers/cli.ts';

// Bags with service events: rosbag2 records a service's calls as `<service>/_service_event` topics of type
// `<pkg>/srv/<Name>_Event` (a service_msgs/ServiceEventInfo, then the request and the response). The
// registry carries every interface package of the ROS 2 core, generated from their sources at pinned
// commits (daemon/bus/core-interfaces), with service and action types derived as rosidl derives them.

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const RESOURCES = join(FIXTURES, 'bags/rosbag2/rosbag2_tests/resources');

describe('the definitions registry', () => {
  it('carries the core packages, and derives service events and action types as rosidl does', () => {
    const registry = new DefinitionsRegistry();
    for (const type of [
      'service_msgs/msg/ServiceEventInfo',
      'rcl_interfaces/srv/GetParameters_Event',
      'lifecycle_msgs/srv/ChangeState_Event',
      'type_description_interfaces/srv/GetTypeDescription_Response',
      'action_msgs/srv/CancelGoal_Event',
      'test_msgs/action/Fibonacci_SendGoal_Event',
      'test_msgs/action/Fibonacci_GetResult_Response',
      'test_msgs/action/Fibonacci_FeedbackMessage',
      'statistics_msgs/msg/MetricsMessage',
      'rosgraph_msgs/msg/Clock',
      'unique_identifier_msgs/msg/UUID',
    ]) {
      expect(() => registry.resolve(type), type).not.toThrow();
    }
    const event = registry.resolve('rcl_interfaces/srv/GetParameters_Event').definitions[0]!;
    expect(event.definitions.map((f) => [f.name, f.type, f.arrayUpperBound ?? null])).toEqual([
      ['info', 'service_msgs/msg/ServiceEventInfo', null],
      ['request', 'rcl_interfaces/srv/GetParameters_Request', 1],
      ['response', 'rcl_interfaces/srv/GetParameters_Response', 1],
    ]);
    const sendGoal = registry.resolve('test_msgs/action/Fibonacci_SendGoal_Request').definitions[0]!;
    expect(sendGoal.definitions.map((f) => [f.name, f.type])).toEqual([
      ['goal_id', 'unique_identifier_msgs/msg/UUID'],
      ['goal', 'test_msgs/action/Fibonacci_Goal'],
    ]);
    expect(registry.origin('service_msgs/msg/ServiceEventInfo')).toBe(
      'ros2 core: rcl_interfaces/service_msgs/msg/ServiceEventInfo.msg',
    );
  });
});

describe('a bag with service events', () => {
  it.each(['mcap', 'sqlite3'])('is imported from %s with every service event decoded', async (storage) => {
    const work = tempDir('service-events-');
    cleanups.push(work.cleanup);
    const config = join(work.path, 'edge.yaml');
    writeFileSync(config, 'data_dir: ./data\n');
    const bag = join(RESOURCES, storage, 'bag_with_topics_and_service_events');
    const r = await runMain(['bag', 'import', bag, '--config', config, '--json'], { cwd: work.path });
    // 3 would mean messages kept as raw bytes ("no definition for service_msgs/msg/ServiceEventInfo").
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toContain('no definition for');
  });

  it('reads a service definition carried in the bag (request --- response) for a package the registry lacks', () => {
    const resolver = new BagTypeResolver(new DefinitionsRegistry());
    const text = 'int64 a\nint64 b\n---\nint64 sum\n';
    const resolved = resolver.resolve('lab_interfaces/srv/AddTwoInts_Event', { encoding: 'ros2msg', text });
    expect(resolved).not.toHaveProperty('error');
    expect('definitions' in resolved && resolved.definitions.map((d) => d.name)).toEqual(
      expect.arrayContaining([
        'lab_interfaces/srv/AddTwoInts_Event',
        'lab_interfaces/srv/AddTwoInts_Request',
        'lab_interfaces/srv/AddTwoInts_Response',
        'service_msgs/msg/ServiceEventInfo',
      ]),
    );
  });
});
