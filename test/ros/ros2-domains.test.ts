import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The real-ROS-2 test files run side by side, each in a ROS domain of its own: two files in one domain see each
// other's nodes (a fibonacci server answered in another file's domain once). test/ros2dds picks from 100 up.
// test/ros2 (a ROS 2 built by hand, Cyclone DDS): 60-99. test/rclpy (the PyPI ROS 2 peer, Fast DDS), by what the
// files test: 20-29 topics, QoS, the graph and faults; 30-39 services and actions; 40-49 rclpy nodes behind
// zenoh-bridge-ros2dds; 50-59 joined graphs. test/gazebo-live (a Gazebo built by hand beside the PyPI ROS 2):
// 10-19. A file that runs on each distribution runs them one after the other in its one domain.

/** The `const DOMAIN = N;` of each test file of `dir`, by domain. */
function domainsOf(dir: string): Map<number, string[]> {
  const domains = new Map<number, string[]>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.test.ts'))) {
    const match = /^const DOMAIN = (\d+);$/m.exec(readFileSync(join(dir, file), 'utf8'));
    if (match === null) continue;
    const domain = Number(match[1]);
    domains.set(domain, [...(domains.get(domain) ?? []), join(dir, file)]);
  }
  return domains;
}

describe('the ROS domains of the real-ROS-2 test files', () => {
  const ros2 = domainsOf('test/ros2');
  const rclpy = domainsOf('test/rclpy');
  const gazebo = domainsOf('test/gazebo-live');

  it('are one per file, across test/ros2, test/rclpy and test/gazebo-live', () => {
    expect(ros2.size).toBeGreaterThan(0);
    expect(rclpy.size).toBeGreaterThan(0);
    expect(gazebo.size).toBeGreaterThan(0);
    const all = new Map<number, string[]>();
    for (const [domain, files] of [...ros2, ...rclpy, ...gazebo])
      all.set(domain, [...(all.get(domain) ?? []), ...files]);
    expect([...all].filter(([, files]) => files.length > 1)).toEqual([]);
  });

  it('are from 60 to 99 in test/ros2, from 20 to 59 in test/rclpy and from 10 to 19 in test/gazebo-live', () => {
    expect([...ros2.keys()].filter((d) => d < 60 || d > 99)).toEqual([]);
    expect([...rclpy.keys()].filter((d) => d < 20 || d > 59)).toEqual([]);
    expect([...gazebo.keys()].filter((d) => d < 10 || d > 19)).toEqual([]);
  });
});
