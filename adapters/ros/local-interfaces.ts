import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const KINDS = ['msg', 'srv', 'action'] as const;
/** How deep under a bus.definitions.dirs entry packages are looked for (a package, a share folder, a workspace). */
const MAX_DEPTH = 3;

/** An interface package found in bus.definitions.dirs whose C type support no sourced ROS 2 prefix has. */
export interface LocalInterfacePackage {
  name: string;
  /** The package's folder in bus.definitions.dirs. */
  dir: string;
  /** Its interface files, relative to `dir` (msg/Beacon.msg), with their text. */
  files: { path: string; text: string }[];
  /** The other packages its fields name (geometry_msgs for geometry_msgs/Point), which must be installed. */
  dependencies: string[];
  /** A digest of its files and of the ROS 2 it is built against: a build is reused while it is the same. */
  digest: string;
}

/** The shared library rclnodejs opens for a package's types (src/rcl_utilities.cpp, GetMessageTypeSupport). */
export function typeSupportLibrary(pkg: string): string {
  return `lib${pkg}__rosidl_typesupport_c.so`;
}

function installed(pkg: string, prefixes: readonly string[]): boolean {
  return prefixes.some((prefix) => existsSync(join(prefix, 'lib', typeSupportLibrary(pkg))));
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function interfaceFiles(dir: string): { path: string; text: string }[] {
  const files: { path: string; text: string }[] = [];
  for (const kind of KINDS) {
    if (!isDir(join(dir, kind))) continue;
    for (const name of readdirSync(join(dir, kind)).sort()) {
      if (name.endsWith(`.${kind}`))
        files.push({ path: `${kind}/${name}`, text: readFileSync(join(dir, kind, name), 'utf8') });
    }
  }
  return files;
}

/** The packages a field's type names: `geometry_msgs/Point[] at` needs geometry_msgs, `Header h` std_msgs. */
function dependenciesOf(pkg: string, files: readonly { path: string; text: string }[]): string[] {
  const deps = new Set<string>();
  for (const { path, text } of files) {
    if (path.startsWith('action/'))
      for (const dep of ['action_msgs', 'builtin_interfaces', 'unique_identifier_msgs']) deps.add(dep);
    for (const raw of text.split('\n')) {
      const line = raw.replace(/#.*/, '').trim();
      if (line === '' || /^-{3,}$/.test(line)) continue;
      const type = line.split(/\s+/)[0]!.replace(/\[.*$/, '');
      if (type.includes('/')) deps.add(type.split('/')[0]!);
      else if (type === 'Header') deps.add('std_msgs');
      else if (type === 'time' || type === 'duration') deps.add('builtin_interfaces');
    }
  }
  deps.delete(pkg);
  return [...deps].sort();
}

/**
 * The interface packages in `dirs` (bus.definitions.dirs) that rclnodejs could not bridge as they are: no prefix of
 * AMENT_PREFIX_PATH has their C type support, which rclnodejs opens even for raw messages. Packages the sourced ROS 2
 * has, and folders inside its prefixes, are left to it, whatever a definitions dir says.
 */
export function localInterfacePackages(dirs: readonly string[], env: NodeJS.ProcessEnv): LocalInterfacePackage[] {
  const prefixes = (env.AMENT_PREFIX_PATH ?? '').split(':').filter((p) => p !== '');
  const found = new Map<string, LocalInterfacePackage>();
  const visit = (dir: string, name: string, depth: number): void => {
    if (!isDir(dir)) return;
    const files = interfaceFiles(dir);
    if (files.length > 0) {
      // The first dir that has a package wins, as in the definitions registry's order. One inside a ROS 2 prefix
      // is that install's (test_interface_files ships .msg files and no libraries, on purpose).
      const inPrefix = prefixes.some((prefix) => resolve(dir).startsWith(`${resolve(prefix)}/`));
      if (found.has(name) || inPrefix || installed(name, prefixes)) return;
      const digest = createHash('sha256')
        .update(JSON.stringify({ name, files, distro: env.ROS_DISTRO ?? '', prefixes }))
        .digest('hex')
        .slice(0, 16);
      found.set(name, { name, dir, files, dependencies: dependenciesOf(name, files), digest });
      return;
    }
    if (depth >= MAX_DEPTH) return;
    for (const child of readdirSync(dir).sort()) if (!child.startsWith('.')) visit(join(dir, child), child, depth + 1);
  };
  for (const dir of dirs)
    visit(
      dir,
      dir
        .split('/')
        .filter((p) => p !== '')
        .at(-1) ?? '',
      0,
    );
  return [...found.values()];
}
