import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sourcedEnv } from '../helpers/sourced-env.ts';
import { peerMissing } from '../peers/missing.ts';

/**
 * A Gazebo with ros_gz, built by hand (no registry ships either for this machine's Debian; docs/simulator.md says
 * how), found through AURAISON_EDGE_GAZEBO_SETUP: a bash file whose sourcing puts Gazebo's CLI (`ign` for
 * Fortress, `gz` for Harmonic) on PATH, ros_gz's packages on AMENT_PREFIX_PATH and a ROS 2 with rclnodejs built
 * against it, whose folder it names in AURAISON_EDGE_RCLNODEJS. Where there is none, every test here skips with
 * one line, in CI too.
 */
export interface GazeboSetup {
  /** The sourced environment, before a test's own partition, domain and display. */
  base: NodeJS.ProcessEnv;
  release: 'fortress' | 'harmonic';
  /** The Gazebo version, as `--versions` prints it. */
  version: string;
  /** Gazebo's CLI and its sim verb: `ign gazebo` (Fortress) or `gz sim` (Harmonic). */
  cli: string;
  simVerb: string;
  /**
   * The engine gpu_lidar renders with: `ogre` (Ogre 1.x, needs an X display, Xvfb here) or `ogre2` (through EGL,
   * `--headless-rendering`), as AURAISON_EDGE_GAZEBO_RENDER_ENGINE says (ogre2 by default).
   */
  renderEngine: 'ogre' | 'ogre2';
  /** The folder rclnodejs is installed under, built against the sourced ROS 2 (the daemon's `ros.rclnodejs`). */
  rclnodejs: string;
  /** ros_gz_bridge's parameter_bridge executable; undefined where ros_gz is not built. */
  parameterBridge: string | undefined;
}

const NEEDS =
  'no Gazebo with ros_gz here: set AURAISON_EDGE_GAZEBO_SETUP to a setup.bash that sources a hand-built Gazebo ' +
  '(Fortress or Harmonic), ros_gz and ROS 2 with AURAISON_EDGE_RCLNODEJS (docs/simulator.md#gazebo-built-by-hand); ' +
  'no registry ships them for this Debian, so these tests skip in CI too';

let found: GazeboSetup | undefined | null = null;

/** The Gazebo this machine has, or undefined. */
export function gazeboHere(): GazeboSetup | undefined {
  if (found !== null) return found;
  found = undefined;
  const setup = process.env.AURAISON_EDGE_GAZEBO_SETUP;
  if (!setup || !existsSync(setup)) return found;
  const base = sourcedEnv(`source '${setup}'`);
  // Fortress answers `ign gazebo --versions`, Harmonic `gz sim --versions`.
  const fortress = cliVersion(base, 'ign', 'gazebo');
  const release = fortress ? 'fortress' : 'harmonic';
  const [cli, simVerb] = fortress ? ['ign', 'gazebo'] : ['gz', 'sim'];
  const version = fortress ?? cliVersion(base, cli, simVerb);
  const parameterBridge = findInPrefixes(base, join('lib', 'ros_gz_bridge', 'parameter_bridge'));
  const rclnodejs = base.AURAISON_EDGE_RCLNODEJS ?? '';
  const addon = join(rclnodejs, 'node_modules', 'rclnodejs', 'build', 'Release', 'rclnodejs.node');
  if (!version || !existsSync(addon)) return found;
  const renderEngine = base.AURAISON_EDGE_GAZEBO_RENDER_ENGINE === 'ogre' ? 'ogre' : 'ogre2';
  found = { base, release, version, cli, simVerb, renderEngine, rclnodejs, parameterBridge };
  return found;
}

/**
 * The Gazebo setup, or the calling test or suite skips, saying what is missing in one line; with `rosGz`, also
 * when ros_gz_bridge is not built beside it.
 */
export function gazeboSetup({ rosGz = false } = {}): GazeboSetup {
  const here = gazeboHere();
  if (here === undefined || (rosGz && here.parameterBridge === undefined)) peerMissing(NEEDS, { required: false });
  return here!;
}

function cliVersion(env: NodeJS.ProcessEnv, cli: string, verb: string): string | undefined {
  try {
    const out = execFileSync(cli, [verb, '--versions'], { env, encoding: 'utf8', timeout: 20_000, stdio: 'pipe' });
    return /\d+\.\d+\.\d+/.exec(out)?.[0];
  } catch {
    return undefined;
  }
}

function findInPrefixes(env: NodeJS.ProcessEnv, relative: string): string | undefined {
  for (const prefix of (env.AMENT_PREFIX_PATH ?? '').split(':')) {
    if (prefix !== '' && existsSync(join(prefix, relative))) return join(prefix, relative);
  }
  return undefined;
}
