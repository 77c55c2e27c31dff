import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { peerMissing } from './missing.ts';

/** Where test/peers/install puts the real peers: one cache per machine, reused by every run. */
export const PEERS_CACHE = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'auraison-edge-peers');
export const INSTALL_COMMAND = 'bash test/peers/install';
const HERE = dirname(fileURLToPath(import.meta.url));

/** The peers `npm test` installs first (test/peers/install's quick group); `npm run test:all` adds the rest. */
const QUICK = new Set(['python', 'go', 'minio', 'duckdb', 'ros2']);

export interface ZenohPeers {
  /** Python with eclipse-zenoh. */
  python: string;
  bridge: string;
  /** test/peers/zenoh/router.py and ros_peer.py. */
  routerScript: string;
  peerScript: string;
}

/** The path of an installed peer; when it is missing, the test fails or is skipped (test/peers/missing.ts). */
export function need(path: string, what: string, install: string): string {
  if (existsSync(path)) return path;
  const alone = `\`${INSTALL_COMMAND} ${install}\``;
  peerMissing(
    QUICK.has(install)
      ? `${what} is not installed (${path}): \`npm test\` installs it first but could not (its lines above say why); ${alone}`
      : `${what} is not installed (${path}): \`npm run test:all\` installs it and runs every test (${alone} alone)`,
  );
}

/** The Zenoh peers; throws naming the install command when one is missing, so the test fails saying how to fix it. */
export function zenohPeers(): ZenohPeers {
  return {
    python: need(join(PEERS_CACHE, 'venv', 'bin', 'python'), 'Python with eclipse-zenoh', 'zenoh'),
    bridge: need(join(PEERS_CACHE, 'cargo', 'bin', 'zenoh-bridge-remote-api'), 'zenoh-bridge-remote-api', 'zenoh'),
    routerScript: join(HERE, 'zenoh', 'router.py'),
    peerScript: join(HERE, 'zenoh', 'ros_peer.py'),
  };
}

export interface Ros2ddsPeers {
  /** zenoh-bridge-ros2dds: the crates.io zenoh-plugin-ros2dds under our small main (test/peers/rust). */
  bridge: string;
  /** Python with eclipse-zenoh and cyclonedds. */
  python: string;
  /** test/peers/dds/ros2_dds_peer.py: a ROS 2 node as DDS sees it. */
  ddsPeerScript: string;
}

/** zenoh-bridge-ros2dds and the Cyclone DDS peers; throws naming the install command when one is missing. */
export function ros2ddsPeers(): Ros2ddsPeers {
  const python = need(
    join(PEERS_CACHE, 'venv', 'bin', 'python'),
    'Python with eclipse-zenoh and cyclonedds',
    'ros2dds',
  );
  need(join(PEERS_CACHE, 'venv', 'cyclonedds.installed'), 'cyclonedds (Python)', 'ros2dds');
  return {
    bridge: need(join(PEERS_CACHE, 'cargo', 'bin', 'zenoh-bridge-ros2dds'), 'zenoh-bridge-ros2dds', 'ros2dds'),
    python,
    ddsPeerScript: join(HERE, 'dds', 'ros2_dds_peer.py'),
  };
}

/**
 * ros2-client-node: a ROS 2 node made with the crates.io `ros2-client` crate over RustDDS (test/peers/rust), a ROS 2
 * client library of its own, for nodes behind zenoh-bridge-ros2dds beside the Cyclone DDS ones.
 */
export function ros2ClientNode(): string {
  return need(join(PEERS_CACHE, 'cargo', 'bin', 'ros2-client-node'), 'ros2-client-node', 'ros2dds');
}

export interface ReaderPeers {
  /** Python with rosbags, mcap, mcap-ros2-support, pyarrow and duckdb. */
  python: string;
  /** test/peers/python, the scripts that python runs. */
  scripts: string;
  /** The MCAP checker built on the official Go library (test/peers/go/mcap-check). */
  mcapCheck: string;
}

/** The independent readers of what we write; throws naming the install command when one is missing. */
export function readerPeers(): ReaderPeers {
  return {
    python: need(
      join(PEERS_CACHE, 'readers', 'bin', 'python'),
      'Python with rosbags, mcap-ros2-support, pyarrow and duckdb',
      'python',
    ),
    scripts: join(HERE, 'python'),
    mcapCheck: need(join(PEERS_CACHE, 'gobin', 'mcap-check'), 'mcap-check (the Go MCAP library)', 'go'),
  };
}

/**
 * Python 3.12 with LeRobot (lerobot 0.6.1 and the torch it takes, run on the CPU), for
 * test/peers/python/lerobot_load.py and lerobot_convert_v21.py;
 * throws naming the install command when it is missing.
 */
export function lerobotPython(): string {
  return need(
    join(PEERS_CACHE, 'lerobot', 'bin', 'python'),
    "Python with LeRobot's dataset loader (lerobot)",
    'lerobot',
  );
}

/** Debian's Gazebo SDF parser: `ign` (ignition-tools) with libsdformat-dev's `ign sdf` plugin, as .ci/run installs. */
const IGN_SDF_PLUGIN = '/usr/share/ignition/sdformat12.yaml';
const IGN_INSTALL = 'sudo apt-get install ignition-tools libsdformat-dev';

/** The `ign` that runs `ign sdf -k`; throws naming the apt packages when it or its SDF plugin is missing. */
export function ignSdf(): string {
  const ign = (process.env.PATH ?? '')
    .split(':')
    .map((dir) => join(dir, 'ign'))
    .find((p) => existsSync(p));
  if (!ign || !existsSync(IGN_SDF_PLUGIN))
    peerMissing(`Gazebo's SDF parser (ign sdf) is not installed: run \`${IGN_INSTALL}\` (.ci/run does)`);
  return ign;
}

/** Runs a peer's command and gives its stdout; a failure throws with the peer's stderr, which says why. */
export function runPeer(
  command: string,
  args: string[],
  options: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      { cwd: options.cwd, env: options.env, maxBuffer: 1 << 30, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
    child.stdin?.end(options.input ?? '');
  });
}

/** Runs test/peers/python/<script> under the readers' Python and parses the JSON it prints. */
export async function runPythonPeer<T>(script: string, args: string[], input?: string): Promise<T> {
  const peers = readerPeers();
  return JSON.parse(
    await runPeer(peers.python, [join(peers.scripts, script), ...args], { cwd: peers.scripts, input }),
  ) as T;
}

/** MinIO's server, built by test/peers/install from the Go module proxy: the S3-compatible object storage. */
export function minioBinary(): string {
  return need(join(PEERS_CACHE, 'gobin', 'minio'), 'MinIO (github.com/minio/minio)', 'minio');
}

/** MinIO's client (github.com/minio/mc), for its admin API: users and policies. */
export function minioClientBinary(): string {
  return need(join(PEERS_CACHE, 'gobin', 'mc'), "MinIO's client (github.com/minio/mc)", 'minio');
}

/** The DuckDB version whose extensions test/peers/install takes from PyPI (that of @duckdb/node-api). */
export const DUCKDB_EXTENSIONS_VERSION = '1.5.5';

/**
 * The path of a DuckDB extension file (`ducklake`, `postgres_scanner`, `httpfs`) from PyPI's duckdb-extension-*
 * wheels, for `LOAD '<path>'`: DuckDB's extension repository is not reachable here.
 */
export function duckdbExtension(name: 'ducklake' | 'postgres_scanner' | 'httpfs'): string {
  return need(
    join(PEERS_CACHE, 'duckdb-extensions', `v${DUCKDB_EXTENSIONS_VERSION}`, `${name}.duckdb_extension`),
    `the DuckDB extension ${name} ${DUCKDB_EXTENSIONS_VERSION}`,
    'duckdb',
  );
}

/** PostgreSQL's server programs (initdb, pg_ctl, postgres) from Debian's postgresql package. */
export function postgresBinDir(): string {
  const dirs = ['/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin'];
  const dir = dirs.find((d) => existsSync(join(d, 'initdb')));
  if (!dir) peerMissing('PostgreSQL is not installed: run `sudo apt-get install postgresql` (.ci/run does)');
  return dir;
}
