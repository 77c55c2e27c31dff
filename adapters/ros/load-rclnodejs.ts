import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Rclnodejs } from './rcl-api.ts';

/** The rclnodejs this daemon is built and tested against (package.json's optionalDependencies). */
export const RCLNODEJS_VERSION = '2.2.0';

/** Loads rclnodejs, or says what to install and source. Tests give the double instead. */
export type RclnodejsLoader = () => Promise<Rclnodejs>;

export interface ImportOptions {
  env?: NodeJS.ProcessEnv;
  importer?: (specifier: string) => Promise<unknown>;
  /**
   * `ros.rclnodejs`: the folder rclnodejs is installed under (its node_modules/rclnodejs), relative paths taken from
   * the working directory; empty or absent, the daemon's own node_modules.
   */
  from?: string;
}

/** The rclnodejs package folder under `ros.rclnodejs`'s folder. */
export function rclnodejsPackageDir(from: string): string {
  return join(resolve(from), 'node_modules', 'rclnodejs');
}

/**
 * What to import for rclnodejs: the package itself, or its entry under `from` (`ros.rclnodejs`), which must hold it.
 * Only that folder's node_modules is looked in, never its parents', so a wrong path cannot load another rclnodejs.
 */
export function rclnodejsSpecifier(from: string | undefined): string {
  if (!from) return 'rclnodejs';
  const dir = rclnodejsPackageDir(from);
  if (!existsSync(join(dir, 'package.json'))) {
    throw new Error(
      `ros.rclnodejs is ${from} but there is no rclnodejs under it (${dir}): install it there with ` +
        `\`npm install --prefix ${from} rclnodejs@${RCLNODEJS_VERSION}\` where ROS 2 is sourced, or leave ` +
        "ros.rclnodejs empty to load the one in the daemon's own node_modules",
    );
  }
  return pathToFileURL(createRequire(join(dir, 'package.json')).resolve(dir)).href;
}

function howTo(distro: string | undefined): string {
  const source = `source /opt/ros/${distro ?? '<distro>'}/setup.bash`;
  return (
    `on the robot, ${source} (ROS_DISTRO humble, jazzy, kilted or rolling), then run ` +
    `\`npm install rclnodejs@${RCLNODEJS_VERSION}\` in the daemon's folder with ROS 2 sourced (its install builds against ` +
    `that ROS 2), and start the daemon where ROS 2 is sourced (a systemd unit: EnvironmentFile or an ExecStart ` +
    `through bash -c '${source} && exec auraison-edge run'); or set ros.enabled: false`
  );
}

/**
 * Imports rclnodejs for `ros.enabled`. Without ROS_DISTRO it does not try: importing rclnodejs where ROS 2 is
 * not sourced makes it run node-gyp to build its native part, which fails after a long while.
 */
export async function importRclnodejs(options: ImportOptions = {}): Promise<Rclnodejs> {
  const { env = process.env, importer = (specifier) => import(specifier), from } = options;
  const distro = env.ROS_DISTRO;
  if (!distro)
    throw new Error(`ros.enabled is true but ROS 2 is not sourced here (ROS_DISTRO is unset): ${howTo(undefined)}`);
  const specifier = rclnodejsSpecifier(from);
  let loaded: unknown;
  try {
    loaded = await importer(specifier);
  } catch (error) {
    const { code, message } = error as { code?: unknown; message?: unknown };
    if (code === 'ERR_MODULE_NOT_FOUND' && String(message).includes("'rclnodejs'")) {
      throw new Error(`ros.enabled is true but rclnodejs is not installed (ROS_DISTRO=${distro}): ${howTo(distro)}`);
    }
    throw new Error(`rclnodejs failed to load under ROS_DISTRO=${distro} (${String(message)}): ${howTo(distro)}`);
  }
  // Its ESM entry exports the module as default only (dist/index.js); the CommonJS one is the module itself.
  const api = ((loaded as { default?: unknown }).default ?? loaded) as Partial<Rclnodejs>;
  if (typeof api.init !== 'function' || typeof api.Node !== 'function' || typeof api.QoS !== 'function') {
    throw new Error(`the installed rclnodejs has no init/Node/QoS: install rclnodejs@${RCLNODEJS_VERSION}`);
  }
  return api as Rclnodejs;
}
