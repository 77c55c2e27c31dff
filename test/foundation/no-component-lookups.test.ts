import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.ts';

/**
 * No component is looked up by name (`components.get('agent')`): components take one another's services through
 * the ports their specs declare, and tests and benches reach a component through a port (`running(daemon, Class)`,
 * `daemon.ports.get(PORTS.api)`) or read it as status does (`daemon.componentHealth().zenoh`). The lookups left are
 * in tests written before, listed here with their count: a file may lose them, never gain one, and no file gets a
 * first one.
 */
const LEFT: Record<string, number> = {
  'sim/turtlebot-maze/turtlebot-maze-sim.test.ts': 1,
  'test/api/cross-site.test.ts': 1,
  'test/api/foxglove-teleop.test.ts': 1,
  'test/api/metrics-strict.test.ts': 1,
  'test/api/page-latch-noagent.test.ts': 1,
  'test/api/page-map.test.ts': 1,
  'test/api/page-stop-place.test.ts': 1,
  'test/api/page-stop.test.ts': 1,
  'test/api/stop-under-load.test.ts': 2,
  'test/api/topic-command.test.ts': 2,
  'test/api/topic-reconnect.test.ts': 1,
  'test/bags/bag-play.test.ts': 1,
  'test/bags/recorder-split-daemon.test.ts': 1,
  'test/bags/sim-roundtrip.test.ts': 1,
  'test/bags/snapshot-daemon.test.ts': 2,
  'test/central-ops/fleet-e2e.test.ts': 1,
  'test/central/central-link-broker-edges.test.ts': 1,
  'test/central/central-link-faults.test.ts': 3,
  'test/central/central-link-records.test.ts': 1,
  'test/central/central-link.test.ts': 1,
  'test/central/central-rate-limits.test.ts': 1,
  'test/central/intent-targets.test.ts': 2,
  'test/central/remote-config.test.ts': 2,
  'test/central/signed-commands.test.ts': 1,
  'test/foundation/navigation-cancel.test.ts': 1,
  'test/foundation/peer-text-escaped.test.ts': 1,
  'test/foundation/reload-counter.test.ts': 1,
  'test/foundation/sim-conventions.test.ts': 1,
  'test/foundation/sim-determinism.test.ts': 1,
  'test/foundation/sim-robot-model.test.ts': 1,
  'test/foundation/soak-run-metrics.test.ts': 1,
  'test/interop/sim-drive.ts': 1,
  'test/ros/ros-faults.test.ts': 1,
  'test/ros2/ros2-rmw-zenoh.test.ts': 4,
  'test/ros2dds/ros2dds-bridge.test.ts': 2,
  'test/safety/stop-durability.test.ts': 1,
  'test/sync/bag-sync.test.ts': 1,
  'test/sync/sync-retention.test.ts': 2,
  'test/system1/lerobot-export-recorded.test.ts': 1,
  'test/system1/loop-latch.test.ts': 6,
  'test/system1/run-policy-skill.test.ts': 2,
  'test/system1/stale-observations-per-topic.test.ts': 2,
  'test/system2/agent-reload.test.ts': 1,
  'test/system2/reload-faults.test.ts': 2,
  'test/system2/robot-stop-races.test.ts': 2,
  'test/system2/robot-stop.test.ts': 2,
  'test/system2/sim-dock.test.ts': 2,
  'test/system2/stop-latch-edges.test.ts': 1,
  'test/system2/stop-service-edges.test.ts': 1,
  'test/system2/stop-service.test.ts': 5,
  'test/zenoh/zenoh-advanced-transient-local.test.ts': 3,
  'test/zenoh/zenoh-bridge.test.ts': 1,
  'test/zenoh/zenoh-bulk-lane.test.ts': 1,
  'test/zenoh/zenoh-dedupe.test.ts': 1,
  'test/zenoh/zenoh-gid.test.ts': 1,
  'test/zenoh/zenoh-humble.test.ts': 1,
  'test/zenoh/zenoh-large-samples.test.ts': 2,
  'test/zenoh/zenoh-latched-before-link.test.ts': 1,
  'test/zenoh/zenoh-link-faults.test.ts': 4,
  'test/zenoh/zenoh-receive-lane.test.ts': 3,
  'test/zenoh/zenoh-ros2dds-robot.test.ts': 1,
  'test/zenoh/zenoh-service-request.test.ts': 1,
  'test/zenoh/zenoh-subscriber-token.test.ts': 1,
  'test/zenoh/zenoh-transient-local.test.ts': 2,
};

const LOOKUP = /\bcomponents\.get\(/g;
const SKIP = new Set(['node_modules', 'dist', '.git', 'scratch']);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (SKIP.has(entry.name)) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return /\.(ts|js|mjs)$/.test(entry.name) ? [path] : [];
  });
}

describe('components looked up by name', () => {
  const found = new Map<string, number>();
  for (const file of sources(ROOT)) {
    const n = readFileSync(file, 'utf8').match(LOOKUP)?.length ?? 0;
    if (n > 0) found.set(relative(ROOT, file), n);
  }
  // This file names the pattern in its own source.
  found.delete(relative(ROOT, import.meta.filename));

  it('appear in no file that had none, and in no file more often than before', () => {
    const grown = [...found].filter(([file, n]) => n > (LEFT[file] ?? 0)).map(([file, n]) => `${file}: ${n}`);
    expect(grown).toEqual([]);
  });

  it('are all in tests, none in the daemon, its parts or the benches', () => {
    expect([...found.keys()].filter((f) => !f.startsWith('test/') && !f.endsWith('.test.ts'))).toEqual([]);
  });

  it('scans the tree it checks (an empty scan would pass everything)', () => {
    expect(sources(join(ROOT, 'daemon')).length).toBeGreaterThan(300);
    expect(found.size).toBeGreaterThan(0); // the lookups left above are seen; remove this line with the last of them
  });
});
