// The ros_gz_bridge config the export writes: only keys ros_gz_bridge reads, every topic a type pair its README
// lists, and together with the nodes the launch file starts, the same topics and types as the built-in sim.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupStack } from '../helpers/cleanups.ts';
import { isHiddenTopic } from '../../daemon/bus/index.ts';
import { startSimDaemon } from '../helpers/daemon.ts';
import { exportWorld, inspect, LAUNCH_DIR, type SdfWorld } from './exported.ts';
import { BRIDGE_DIRECTIONS, BRIDGE_KEYS, ROS_GZ_TYPE_PAIRS } from './ros-gz-reference.ts';

type Entry = Record<string, unknown>;
type LaunchPy = { nodes: { package: string; executable: string }[] };

/** What ros_gz_bridge would refuse or misread in a config, one line per problem (bridge_config.cpp's rules). */
function bridgeProblems(entries: unknown): string[] {
  if (!Array.isArray(entries)) return ['the config is not a YAML array of maps'];
  const problems: string[] = [];
  entries.forEach((entry: Entry, i) => {
    for (const key of Object.keys(entry))
      if (!(BRIDGE_KEYS as readonly string[]).includes(key)) problems.push(`entry ${i}: unknown key ${key}`);
    if ('topic_name' in entry && ('ros_topic_name' in entry || 'gz_topic_name' in entry))
      problems.push(`entry ${i}: topic_name with ros_topic_name or gz_topic_name`);
    const pair = [entry.ros_type_name, entry.gz_type_name];
    if (!ROS_GZ_TYPE_PAIRS.some(([ros, gz]) => ros === pair[0] && gz === pair[1]))
      problems.push(`entry ${i}: ${pair.join(' <-> ')} is not a pair ros_gz_bridge's README lists`);
    if (!(BRIDGE_DIRECTIONS as readonly unknown[]).includes(entry.direction ?? 'BIDIRECTIONAL'))
      problems.push(`entry ${i}: direction ${String(entry.direction)}`);
    if ('lazy' in entry && typeof entry.lazy !== 'boolean') problems.push(`entry ${i}: lazy is not a boolean`);
  });
  return problems;
}

const cleanups = cleanupStack(afterAll);
let dir = '';
let entries: Entry[] = [];
let sim: { published: Map<string, string>; cmdVelType: string | undefined };

beforeAll(async () => {
  const exported = await exportWorld(7);
  cleanups.push(exported.cleanup);
  dir = exported.dir;
  entries = parse(readFileSync(join(dir, 'bridge.yaml'), 'utf8')) as Entry[];
  const { daemon } = await startSimDaemon(cleanups, { paused: true });
  const published = new Map(
    daemon.bus
      .stats()
      .filter((t) => t.sources.includes('sim'))
      // The sim's /navigate_to_pose stands in for Nav2's bt_navigator, not for Gazebo: its hidden /_action/
      // topics are neither bridged nor launched here (a robot runs Nav2's own bringup).
      .filter((t) => !isHiddenTopic(t.topic))
      .map((t) => [t.topic, t.type]),
  );
  sim = { published, cmdVelType: daemon.bus.topicType('/cmd_vel') };
});

describe('the ros_gz_bridge config', () => {
  it("uses only ros_gz_bridge's keys, and every topic is a type pair it knows", () => {
    expect(entries.length).toBeGreaterThan(0);
    expect(bridgeProblems(entries)).toEqual([]);
  });

  it('is refused by the same checks when a key, a pair or a direction is wrong', () => {
    const bad = [
      { ...entries[0], qos: 'sensor_data' },
      { ...entries[1], gz_type_name: 'gz.msgs.Odometry' },
      { ...entries[2], direction: 'ROS_TO_ROS' },
    ];
    expect(bridgeProblems(bad)).toHaveLength(3);
  });

  it('carries each topic the built-in sim publishes with its type, unless a launched node publishes it', async () => {
    const nodes = (await inspect<LaunchPy>('launch-py', join(LAUNCH_DIR, 'gazebo_maze.launch.py'))).nodes;
    // Not from Gazebo on a real robot either: robot_state_publisher latches the URDF and its fixed joints (the
    // launch adds map -> odom), nav2's map_server serves the map.
    const fromNodes: Record<string, string> = {
      '/tf_static': 'robot_state_publisher',
      '/robot_description': 'robot_state_publisher',
      '/map': 'nav2_map_server',
    };
    const bridged = new Map(entries.map((e) => [e.ros_topic_name, e]));
    for (const [topic, type] of sim.published) {
      const entry = bridged.get(topic);
      if (entry) {
        expect({ topic, type: entry.ros_type_name, direction: entry.direction }).toEqual({
          topic,
          type,
          direction: 'GZ_TO_ROS',
        });
      } else {
        expect({ topic, node: nodes.some((n) => n.package === fromNodes[topic]) }).toEqual({ topic, node: true });
      }
    }
    expect(sim.published.size).toBe(10);
    expect(bridged.get('/cmd_vel')).toMatchObject({ ros_type_name: sim.cmdVelType, direction: 'ROS_TO_GZ' });
    expect([...bridged.keys()].filter((t) => t !== '/cmd_vel' && !sim.published.has(t as string))).toEqual([]);
  });

  it('names Gazebo topics the world publishes (GZ_TO_ROS) and subscribes (ROS_TO_GZ)', async () => {
    const world = await inspect<SdfWorld>('sdf', join(dir, 'maze.sdf'));
    const burger = world.models.turtlebot3_burger!;
    const odom = burger.plugins['gz::sim::systems::OdometryPublisher']!;
    // gz-sim publishes /clock itself (ros_gz_bridge README's note on /clock), gz-sensors a camera's info beside
    // its image, as camera_info.
    const published = [
      '/clock',
      ...burger.sensors.map((s) => s.topic),
      ...burger.sensors.filter((s) => s.type === 'camera').map((s) => s.topic.replace(/[^/]*$/, 'camera_info')),
      odom.odom_topic,
      odom.tf_topic,
      burger.plugins['gz::sim::systems::JointStatePublisher']!.topic,
    ];
    const subscribed = [burger.plugins['gz::sim::systems::DiffDrive']!.topic];
    const by = (direction: string) =>
      entries
        .filter((e) => e.direction === direction)
        .map((e) => e.gz_topic_name)
        .sort();
    expect(by('GZ_TO_ROS')).toEqual(published.sort());
    expect(by('ROS_TO_GZ')).toEqual(subscribed);
  });
});
