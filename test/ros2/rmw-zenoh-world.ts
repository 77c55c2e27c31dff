import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { peerMissing } from '../peers/missing.ts';
import { stopChild } from '../helpers/stop-child.ts';
import { waitFor } from '../helpers/wait.ts';
import { ZenohNetwork, type Peer } from '../zenoh/zenoh-network.ts';
import { ros2, ros2Env, ros2Node, type Ros2Result } from './ros2-env.ts';

const NEEDS =
  'rmw_zenoh_cpp is not in this ROS 2 (lib/librmw_zenoh_cpp.so and lib/rmw_zenoh_cpp/rmw_zenohd under ' +
  'AMENT_PREFIX_PATH): build ros2/rmw_zenoh (jazzy) with its zenoh_cpp_vendor into the same install; see docs/verified.md';

/**
 * A ROS 2 built with one RMW has no runtime selection (rmw_implementation's
 * RMW_IMPLEMENTATION_DISABLE_RUNTIME_SELECTION defaults on then, and there is no librmw_implementation.so): rcl links
 * that RMW's library by name, and RMW_IMPLEMENTATION cannot change it (rcl exits 102, "Expected RMW implementation
 * identifier of 'rmw_zenoh_cpp'"). rmw_zenoh_cpp built later into such an install is reached by putting it first on
 * LD_LIBRARY_PATH under the names rcl may link; the node then runs rmw_zenoh_cpp alone. With runtime selection (every
 * binary ROS 2) nothing changes.
 */
function linkedRmw(prefixes: string[], zenohLib: string, base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const libs = prefixes.map((p) => join(p, 'lib')).filter((dir) => existsSync(dir));
  if (libs.some((dir) => existsSync(join(dir, 'librmw_implementation.so')))) return {};
  // One folder per install, kept: every run links the same names to the same library.
  const dir = join(tmpdir(), `rmw-zenoh-linked-${createHash('sha256').update(zenohLib).digest('hex').slice(0, 12)}`);
  mkdirSync(dir, { recursive: true });
  for (const name of libs.flatMap((d) => readdirSync(d)).filter((n) => /^librmw_(?!zenoh_cpp)\w+_cpp\.so$/.test(n)))
    if (!existsSync(join(dir, name))) symlinkSync(join(zenohLib, 'librmw_zenoh_cpp.so'), join(dir, name));
  return { LD_LIBRARY_PATH: [dir, base.LD_LIBRARY_PATH].filter((p) => !!p).join(':') };
}

/**
 * ROS 2 nodes on rmw_zenoh_cpp and the daemon's Zenoh link on one router: `rmw_zenohd` on a free loopback port (as
 * rmw_zenoh's router, with its own config less the port and multicast scouting), the nodes connected to it as peers,
 * and zenoh-bridge-remote-api connected to it as a client, whose WebSocket the daemon's zenoh-ts uses (wsUrl).
 * Everything it starts, close() stops.
 */
export class RmwZenohWorld {
  readonly env: NodeJS.ProcessEnv;
  readonly domain: number;
  readonly #net: ZenohNetwork;
  readonly #routerEnv: NodeJS.ProcessEnv;
  #router: (ChildProcess & { output: () => string }) | undefined;
  readonly #children = new Set<ChildProcess & { output: () => string }>();
  readonly #peers: Peer[] = [];

  private constructor(options: {
    env: NodeJS.ProcessEnv;
    routerEnv: NodeJS.ProcessEnv;
    domain: number;
    net: ZenohNetwork;
  }) {
    const { env, routerEnv, domain, net } = options;
    this.env = env;
    this.domain = domain;
    this.#routerEnv = routerEnv;
    this.#net = net;
  }

  async #startRouter(): Promise<void> {
    const router = ros2Node(this.#routerEnv, 'rmw_zenoh_cpp', 'rmw_zenohd');
    this.#router = router;
    await waitFor(
      () => router.output().includes('Started Zenoh router') || router.exitCode !== null,
      'rmw_zenohd to start',
      30_000,
    );
    if (router.exitCode !== null) throw new Error(`rmw_zenohd exited (${router.exitCode}): ${router.output()}`);
  }

  /** Kills rmw_zenohd (SIGKILL, as a crash) and starts a new one on the same port. */
  async restartRouter(): Promise<void> {
    await stopChild(this.#router, 'SIGKILL');
    await this.#startRouter();
  }

  /** Skips the calling suite where ROS 2 or rmw_zenoh_cpp is not here. */
  static async start(domain: number): Promise<RmwZenohWorld> {
    const base = ros2Env(domain);
    const prefixes = (base.AMENT_PREFIX_PATH ?? '').split(':').filter((p) => p !== '');
    const lib = prefixes
      .map((p) => join(p, 'lib'))
      .find(
        (dir) => existsSync(join(dir, 'librmw_zenoh_cpp.so')) && existsSync(join(dir, 'rmw_zenoh_cpp', 'rmw_zenohd')),
      );
    if (lib === undefined) peerMissing(NEEDS, { required: false });
    const net = await ZenohNetwork.create();
    const endpoint = JSON.stringify([net.routerEndpoint]);
    // Loopback only, on this world's port: rmw_zenoh's defaults (7447 on every interface) would meet another run.
    const env: NodeJS.ProcessEnv = {
      ...base,
      ...linkedRmw(prefixes, lib, base),
      RMW_IMPLEMENTATION: 'rmw_zenoh_cpp',
      ZENOH_CONFIG_OVERRIDE: `connect/endpoints=${endpoint};listen/endpoints=["tcp/127.0.0.1:0"];scouting/multicast/enabled=false`,
    };
    const routerEnv = {
      ...env,
      ZENOH_CONFIG_OVERRIDE: `listen/endpoints=${endpoint};connect/endpoints=[];scouting/multicast/enabled=false`,
    };
    // ros2cli's daemon of this domain, if a command started one, still talks to the router of that run.
    await ros2(env, ['daemon', 'stop']);
    const world = new RmwZenohWorld({ env, routerEnv, domain, net });
    try {
      await world.#startRouter();
      await net.startBridge();
    } catch (error) {
      await world.close();
      throw error;
    }
    return world;
  }

  /** The remote-api WebSocket the daemon's zenoh.endpoint names. */
  get wsUrl(): string {
    return this.#net.wsUrl;
  }

  /** The daemon's zenoh section for this world, with `extra` over it. */
  zenohConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { enabled: true, endpoint: this.wsUrl, mapping: 'rmw_zenoh', domain_id: this.domain, ...extra };
  }

  /** A node of `pkg` on rmw_zenoh_cpp; close() stops it if the test has not. */
  node(pkg: string, exe: string, args: string[] = []): ChildProcess & { output: () => string } {
    const child = ros2Node(this.env, pkg, exe, args);
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
    return child;
  }

  /** `ros2 ...args` on rmw_zenoh_cpp, left running (a `ros2 topic pub` a test reads from later); close() stops it. */
  spawnRos2(args: string[]): ChildProcess & { output: () => string } {
    const child = spawn('ros2', args, { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const tracked = Object.assign(child, { output: () => output });
    this.#children.add(tracked);
    child.once('exit', () => this.#children.delete(tracked));
    return tracked;
  }

  /** A Python Zenoh peer (test/peers/zenoh/ros_peer.py) on this world's router, in its domain; close() stops it. */
  async peer(spec: Record<string, unknown>): Promise<Peer> {
    const peer = await this.#net.peer({ domain: this.domain, ...spec });
    this.#peers.push(peer);
    return peer;
  }

  /**
   * `ros2 ...args` on rmw_zenoh_cpp. A command whose one fault is rmw_zenoh's session failing to close as rclpy
   * shuts down (`Failed to close the session(Error code: -128 )`, seen once under load after `topic echo --once`
   * had printed its message) is taken as ended well: that is the tool's exit, after its work, and the test
   * checks the work; any other error line keeps its exit code.
   */
  async ros2(args: string[], options: { timeoutMs?: number } = {}): Promise<Ros2Result> {
    const result = await ros2(this.env, args, options);
    const errors = result.stderr.split('\n').filter((line) => /error|fail/i.test(line));
    const closeOnly = errors.length > 0 && errors.every((line) => line.includes('Failed to close the session'));
    return result.code === 1 && closeOnly ? { ...result, code: 0 } : result;
  }

  async close(): Promise<void> {
    // A verb run without --no-daemon starts ros2cli's daemon, which would outlive the test.
    await ros2(this.env, ['daemon', 'stop']);
    await Promise.all(this.#peers.map((p) => p.close()));
    await Promise.all([...this.#children].map((c) => stopChild(c, 'SIGINT')));
    await this.#net.close();
    await stopChild(this.#router, 'SIGINT');
  }
}
