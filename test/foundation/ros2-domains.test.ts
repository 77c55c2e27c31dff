import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The real-ROS-2 test files run side by side, each in a ROS domain of its own: two files in one domain see each
// other's nodes (a fibonacci server answered in another file's domain once). test/ros2dds picks from 100 up.
describe("test/ros2's ROS domains", () => {
  it('are one per file, from 60 to 99', () => {
    const dir = 'test/ros2';
    const domains = new Map<number, string[]>();
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.test.ts'))) {
      const match = /^const DOMAIN = (\d+);$/m.exec(readFileSync(join(dir, file), 'utf8'));
      if (match === null) continue;
      const domain = Number(match[1]);
      domains.set(domain, [...(domains.get(domain) ?? []), file]);
    }
    expect(domains.size).toBeGreaterThan(0);
    const shared = [...domains].filter(([, files]) => files.length > 1);
    expect(shared).toEqual([]);
    expect([...domains.keys()].filter((d) => d < 60 || d > 99)).toEqual([]);
  });
});
