// Generates ros2-core.json, the ROS 2 core interface packages the definitions registry carries, from their
// sources at pinned commits (the copies in test/fixtures/msgs, unmodified, see test/fixtures/README.md):
//   npx tsx daemon/bus/core-interfaces/generate.ts [SOURCES_DIR]
// To move to other commits, put the packages of those commits in SOURCES_DIR, set PINS, and run it again.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const sources = process.argv[2] ?? join(here, '..', '..', '..', 'test', 'fixtures', 'msgs');

/** Each source folder: the repository and commit its packages are from. */
const PINS: Record<string, { repository: string; commit: string }> = {
  rcl_interfaces: { repository: 'ros2/rcl_interfaces', commit: 'f6b3741d921e' },
  common_interfaces: { repository: 'ros2/common_interfaces', commit: 'c0c0bc57f958' },
  unique_identifier_msgs: { repository: 'ros2/unique_identifier_msgs', commit: '0d6c41ef5fc0' },
  test_interface_files: { repository: 'ros2/test_interface_files', commit: '25d4b699e4bc' },
  geometry2: { repository: 'ros2/geometry2', commit: '1b005c6556cf' },
  rosbag2: { repository: 'ros2/rosbag2', commit: '25304dd36e51' },
  navigation2: { repository: 'ros-navigation/navigation2', commit: 'f4108e5b1c2b' },
};
const KINDS = ['msg', 'srv', 'action'] as const;

const interfaces: Record<string, { text: string; source: string }> = {};
for (const folder of Object.keys(PINS)) {
  const root = join(sources, folder);
  for (const pkg of readdirSync(root).sort()) {
    for (const kind of KINDS) {
      const dir = join(root, pkg, kind);
      let files: string[];
      try {
        if (!statSync(dir).isDirectory()) continue;
        files = readdirSync(dir).sort();
      } catch {
        continue;
      }
      for (const file of files) {
        if (!file.endsWith(`.${kind}`)) continue;
        const type = `${pkg}/${kind}/${file.slice(0, -kind.length - 1)}`;
        interfaces[type] = {
          text: readFileSync(join(dir, file), 'utf8'),
          source: `${folder}/${relative(root, join(dir, file))}`,
        };
      }
    }
  }
}
const out = { generated_by: 'daemon/bus/core-interfaces/generate.ts', pins: PINS, interfaces };
writeFileSync(join(here, 'ros2-core.json'), `${JSON.stringify(out, null, 1)}\n`);
console.log(`${Object.keys(interfaces).length} interfaces written to ${join(here, 'ros2-core.json')}`);
