// RIHS01 type hashes (metadata.yaml's type_description_hash, the MCAP channels' topic_type_hash, rmw_zenoh's
// key expressions) against rosbags' own implementation of REP-2011 over its own copy of ROS 2 Jazzy's types.
import { describe, expect, it } from 'vitest';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { typeDescriptionHash } from '../../daemon/bus/type-hash.ts';
import { runPythonPeer } from '../peers/index.ts';

describe('RIHS01 type hashes, computed by rosbags', () => {
  it(
    'equal ours for every message type of the built-in Jazzy set that rosbags also holds',
    { timeout: 60_000 },
    async () => {
      const registry = new DefinitionsRegistry();
      const types = registry.types().filter((t) => t.includes('/msg/'));
      const theirs = await runPythonPeer<Record<string, string | null>>('rihs01.py', [], types.join('\n'));
      const compared = types.filter((t) => theirs[t]);
      // Every standard type the sim, the recorder and the bridges use is among them.
      expect(compared).toEqual(
        expect.arrayContaining([
          'sensor_msgs/msg/LaserScan',
          'nav_msgs/msg/Odometry',
          'tf2_msgs/msg/TFMessage',
          'geometry_msgs/msg/Twist',
          'rosgraph_msgs/msg/Clock',
          'sensor_msgs/msg/JointState',
          'nav_msgs/msg/OccupancyGrid',
          'std_msgs/msg/String',
        ]),
      );
      expect(compared.length).toBeGreaterThan(100);
      const differ = compared
        .filter((t) => typeDescriptionHash(registry, t) !== theirs[t])
        .map((t) => `${t}: ours ${typeDescriptionHash(registry, t)}, rosbags ${theirs[t]}`);
      expect(differ).toEqual([]);
    },
  );
});
