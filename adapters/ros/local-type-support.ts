import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { DefinitionsRegistry } from '../../daemon/bus/index.ts';
import type { BridgeReport } from './bridge-report.ts';
import { errorText } from '../../daemon/util/index.ts';
import { rclnodejsPackageDir } from './load-rclnodejs.ts';
import { typeSupportLibrary, type LocalInterfacePackage } from './local-interfaces.ts';
import { buildTypeSupport, generateInstalledJavaScript, loadTypeSupport } from './type-support-build.ts';
import type { UngeneratedPackage } from './ungenerated-interfaces.ts';

/**
 * The rclnodejs package folder, whose generator writes the JavaScript of a package's types under its generated/: that
 * under `ros.rclnodejs` (`from`) where it is set, else the daemon's own node_modules/rclnodejs.
 */
export function rclnodejsRoot(from?: string): string {
  if (from) return rclnodejsPackageDir(from);
  // Its CommonJS entry is dist/index.cjs.
  return dirname(dirname(createRequire(import.meta.url).resolve('rclnodejs')));
}

/**
 * The first of a package's interface files that the daemon's own parser refuses (a line that is no field, an .action
 * without its two `---` lines), as `<file>: <why>`: rosidl would refuse it too, with an error that does not name it.
 */
function unreadableFile(pkg: LocalInterfacePackage): string | undefined {
  const parsed = new DefinitionsRegistry({ distro: 'none' });
  try {
    parsed.addDirectory(pkg.dir);
  } catch (error) {
    // The folder went away since it was listed.
    return errorText(error);
  }
  return parsed.warnings[0];
}

/**
 * Makes the types of interface packages known only through bus.definitions.dirs bridgeable by rclnodejs: each is
 * built with the sourced ROS 2's rosidl (cached under `cacheDir`) and loaded into this process. While one builds, the
 * `ros` component is degraded with a problem that says so; a package that cannot be built stays a problem that names
 * it, why, and what to do instead (a file of it that does not parse is named, and never given to rosidl). Resolves
 * once every package is loaded or has failed.
 */
export async function prepareLocalTypes(options: {
  packages: readonly LocalInterfacePackage[];
  cacheDir: string;
  /** rclnodejsRoot(): where its generator writes. */
  rclnodejsRoot: string;
  report: BridgeReport;
  log: Logger;
  signal: AbortSignal;
}): Promise<void> {
  const { packages, cacheDir, rclnodejsRoot: root, report, log, signal } = options;
  for (const pkg of packages) {
    const where = `types ${pkg.name}`;
    const started = performance.now();
    const unreadable = unreadableFile(pkg);
    if (unreadable !== undefined) {
      report.count('auraison_ros_errors_total', { kind: 'types', topic: pkg.name });
      report.problem(
        where,
        `the types of ${pkg.name} (from ${pkg.dir}, bus.definitions.dirs) cannot be bridged over ROS 2: ${unreadable}. ` +
          `Fix that file and restart the daemon: ${pkg.name} is built for rclnodejs once every file of it parses`,
      );
      continue;
    }
    report.problem(
      where,
      `building the C type support of ${pkg.name} (from ${pkg.dir}, bus.definitions.dirs) for rclnodejs: its topics ` +
        'are bridged once it is built',
    );
    try {
      const prefix = await buildTypeSupport({ pkg, cacheDir, env: process.env, signal });
      await loadTypeSupport({ pkg, prefix, rclnodejsRoot: root, signal });
      report.resolved(where);
      log.info(
        { package: pkg.name, prefix, ms: Math.round(performance.now() - started) },
        'ros: types known only through bus.definitions.dirs are ready for rclnodejs',
      );
    } catch (error) {
      if (signal.aborted) return;
      report.count('auraison_ros_errors_total', { kind: 'types', topic: pkg.name });
      report.problem(
        where,
        `the types of ${pkg.name} (from ${pkg.dir}, bus.definitions.dirs) cannot be bridged over ROS 2: rclnodejs ` +
          `needs their C type support (${typeSupportLibrary(pkg.name)}), which no prefix on AMENT_PREFIX_PATH has, ` +
          `and building it failed: ${errorText(error)}. Build ${pkg.name} in a ROS 2 workspace and source its ` +
          'install before starting the daemon, or bridge these topics through zenoh (which needs only the definition)',
      );
    }
  }
}

/**
 * Has rclnodejs generate the JavaScript of installed packages it has none for (ungeneratedPackages), so that their
 * types can be bridged; a failure is a problem that says what to run instead.
 */
export async function generateMissingJavaScript(options: {
  packages: readonly UngeneratedPackage[];
  workDir: string;
  /** rclnodejsRoot(): where its generator writes. */
  rclnodejsRoot: string;
  report: BridgeReport;
  log: Logger;
  signal: AbortSignal;
}): Promise<void> {
  const { packages, workDir, rclnodejsRoot: root, report, log, signal } = options;
  const names = packages.map((p) => p.name).join(', ');
  try {
    await generateInstalledJavaScript({ packages, workDir, rclnodejsRoot: root, signal });
    log.info({ packages: names }, "ros: rclnodejs's JavaScript generated for installed packages that had none");
  } catch (error) {
    if (signal.aborted) return;
    report.problem(
      'generated code',
      `rclnodejs has no JavaScript for ${names} (installed after it) and generating it failed: ${errorText(error)}. ` +
        `Run \`npx generate-ros-messages\` in ${root} with ROS 2 sourced, then restart the daemon`,
    );
  }
}
