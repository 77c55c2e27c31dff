import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** An interface package of a sourced ROS 2 prefix that rclnodejs has no JavaScript for. */
export interface UngeneratedPackage {
  name: string;
  prefix: string;
}

/** The packages rclnodejs's generator leaves out on purpose (rosidl_gen/blocklist.json): asking again is no use. */
function blocked(rclnodejsRoot: string): Set<string> {
  const path = join(rclnodejsRoot, 'rosidl_gen', 'blocklist.json');
  if (!existsSync(path)) return new Set();
  const entries = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>[];
  // An entry with more than pkgName blocks some interfaces of a package, not the package.
  const whole = entries.filter((e) => typeof e.pkgName === 'string' && Object.keys(e).length === 1);
  return new Set(whole.map((e) => e.pkgName as string));
}

/**
 * The interface packages on AMENT_PREFIX_PATH (its ament index, `rosidl_interfaces`) that rclnodejs has generated no
 * JavaScript for. rclnodejs generates every package at its install and, on first use, those of other prefixes, but
 * never one in the ROS 2 install itself (lib/interface_loader.js skips the prefix `ros2` is in): a package installed
 * there after rclnodejs (apt's ros-jazzy-nav2-msgs) could not be bridged until `npx generate-ros-messages` was run.
 */
export function ungeneratedPackages(env: NodeJS.ProcessEnv, rclnodejsRoot: string): UngeneratedPackage[] {
  const skip = blocked(rclnodejsRoot);
  const seen = new Set<string>();
  const found: UngeneratedPackage[] = [];
  for (const prefix of (env.AMENT_PREFIX_PATH ?? '').split(':').filter((p) => p !== '')) {
    const index = join(prefix, 'share', 'ament_index', 'resource_index', 'rosidl_interfaces');
    if (!existsSync(index)) continue;
    for (const name of readdirSync(index)) {
      // The first prefix that has a package is the one in use, as for every ROS 2 lookup.
      if (seen.has(name)) continue;
      seen.add(name);
      if (!skip.has(name) && !existsSync(join(rclnodejsRoot, 'generated', name))) found.push({ name, prefix });
    }
  }
  return found;
}
