import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where test/peers/install puts the real peers: one cache per machine, reused by every run. */
export const PEERS_CACHE = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'auraison-edge-peers');
export const INSTALL_COMMAND = 'bash test/peers/install';
const HERE = dirname(fileURLToPath(import.meta.url));

export interface ZenohPeers {
  /** Python with eclipse-zenoh. */
  python: string;
  bridge: string;
  /** test/peers/zenoh/router.py and ros_peer.py. */
  routerScript: string;
  peerScript: string;
}

function need(path: string, what: string): string {
  if (!existsSync(path)) throw new Error(`${what} is not installed (${path}): run \`${INSTALL_COMMAND}\` (.ci/run does)`);
  return path;
}

/** The Zenoh peers; throws naming the install command when one is missing, so the test fails saying how to fix it. */
export function zenohPeers(): ZenohPeers {
  return {
    python: need(join(PEERS_CACHE, 'venv', 'bin', 'python'), 'Python with eclipse-zenoh'),
    bridge: need(join(PEERS_CACHE, 'cargo', 'bin', 'zenoh-bridge-remote-api'), 'zenoh-bridge-remote-api'),
    routerScript: join(HERE, 'zenoh', 'router.py'),
    peerScript: join(HERE, 'zenoh', 'ros_peer.py'),
  };
}
