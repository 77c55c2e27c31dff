import { createServer, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { typeDescriptionHash } from '../../daemon/bus/type-hash.ts';
import { ZenohComponent } from '../../adapters/zenoh/zenoh-component.ts';
import type { Daemon } from '../../daemon/daemon.ts';
import { running, startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { ZenohNetwork, type Peer } from './zenoh-network.ts';

const SCAN = 'sensor_msgs/msg/LaserScan';
const TWIST = 'geometry_msgs/msg/Twist';
const FAST_LINK = {
  keepalive_ms: 200,
  response_timeout_ms: 1000,
  open_timeout_ms: 2000,
  reconnect_min_ms: 100,
  reconnect_max_ms: 1000,
  history_settle_ms: 500,
};

type Details = {
  inbound: Record<string, Record<string, number>>;
  outbound: Record<string, Record<string, number>>;
  link: Record<string, number | string>;
};

describe('the Zenoh link through router faults', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setup(options: { startNetwork: boolean }) {
    const net = await ZenohNetwork.create();
    cleanups.push(() => net.close());
    if (options.startNetwork) await net.start();
    const started = await startDaemon({
      zenoh: { enabled: true, endpoint: net.wsUrl, topics: ['/scan'], publish: ['/cmd_vel'], ...FAST_LINK },
    });
    cleanups.push(started.stop);
    const { daemon } = started;
    const health = () => daemon.componentHealth().zenoh!; // as status shows it
    const details = () => health().details as Details;
    const peers: Peer[] = [];
    cleanups.push(() => Promise.all(peers.map((p) => p.close())).then(() => {}));
    const peer = async (spec: Record<string, unknown>) => {
      const p = await net.peer(spec);
      peers.push(p);
      return p;
    };
    return { net, daemon, health, details, peer, codec: started.codec };
  }

  /** Whether a Python peer's liveliness subscriber (with history) sees the daemon's node. */
  async function seesDaemon(peer: (spec: Record<string, unknown>) => Promise<Peer>, daemon: Daemon): Promise<void> {
    const watcher = await peer({ node: 'watcher', liveliness: true });
    const zid = (daemon.componentHealth().zenoh!.details as Details).link.zid;
    await watcher.next(
      (e) =>
        e.event === 'token' &&
        e.alive === true &&
        new RegExp(`^@ros2_lv/0/${zid}/\\d+/\\d+/NN/%/%/auraison_edge$`).test(String(e.key)),
      "the daemon's node token",
    );
  }

  it('runs degraded, saying why, while no router is there, and joins the graph when one comes up', async () => {
    const { net, daemon, health, peer } = await setup({ startNetwork: false });
    await waitFor(
      () => health().state === 'degraded' && /no Zenoh link/.test(health().reason ?? ''),
      'degraded with a reason',
    );
    expect(health().reason).toContain(net.wsUrl);
    expect(daemon.status().components.zenoh?.state).toBe('degraded');

    await net.start();
    await waitFor(() => health().state === 'running', 'the link up once the router is there', 20_000);
    await seesDaemon(peer, daemon);
  });

  it('reconnects by itself after the router is killed during traffic, declares everything again, and counts what was lost', async () => {
    const { net, daemon, health, details, peer, codec } = await setup({ startNetwork: true });
    await waitFor(() => health().state === 'running', 'the link up');
    const cmdVel = daemon.bus.advertise('/cmd_vel', TWIST, { source: 'test' });
    const twist = codec.encode(TWIST, { linear: { x: 0.1 } });
    const traffic = setInterval(() => cmdVel.publish(twist), 5);
    cleanups.push(async () => clearInterval(traffic));
    const hash = typeDescriptionHash(daemon.definitions, SCAN)!;
    const scans: number[] = [];
    daemon.bus.subscribe({ name: 'test', topic: '/scan', handler: () => void scans.push(Date.now()) });
    const scan = Buffer.from(codec.encode(SCAN, { ranges: [1] })).toString('hex');
    await peer({ node: 'lidar', publish: { topic: '/scan', type: SCAN, hash, rate_hz: 50, payloads: [scan] } });
    await waitFor(() => scans.length > 5 && (details().outbound['/cmd_vel']?.sent ?? 0) > 5, 'traffic both ways');

    await net.kill('SIGKILL');
    await waitFor(() => health().state === 'degraded', 'degraded once the router is gone');
    const dropsBefore = details().outbound['/cmd_vel']!.linkDrops!;
    await waitFor(() => details().outbound['/cmd_vel']!.linkDrops! > dropsBefore, 'samples counted as lost while down');

    await net.start();
    await waitFor(() => health().state === 'running', 'the link back, by itself', 20_000);
    expect(Number(details().link.opens)).toBeGreaterThanOrEqual(2);
    // A new peer sees the daemon's node again, and the daemon hears a new publisher of /scan.
    await seesDaemon(peer, daemon);
    const before = scans.length;
    await peer({ node: 'lidar2', publish: { topic: '/scan', type: SCAN, hash, rate_hz: 50, payloads: [scan] } });
    await waitFor(() => scans.length > before + 5, 'scans again after the restart');
    const listener = await peer({ node: 'base', subscribe: { topic: '/cmd_vel', type: TWIST } });
    await listener.next((e) => e.event === 'sample', '/cmd_vel at a peer after the restart');
    expect(details().outbound['/cmd_vel']!.linkDrops).toBeGreaterThan(0);
    // The same counts in /metrics.
    const families = running(daemon, ZenohComponent)!.metrics();
    const value = (name: string, labels: Record<string, string>) =>
      families.find((f) => f.name === name)!.samples.find((x) => JSON.stringify(x.labels) === JSON.stringify(labels))!
        .value;
    expect(value('auraison_zenoh_link_up', { link: 'main' })).toBe(1);
    expect(value('auraison_zenoh_link_opens_total', { link: 'main' })).toBeGreaterThanOrEqual(2);
    expect(value('auraison_zenoh_link_drops_total', { topic: '/cmd_vel' })).toBe(
      details().outbound['/cmd_vel']!.linkDrops,
    );
  });

  it('stops at once while an open hangs on an endpoint that takes the connection and never answers', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => void sockets.add(socket)); // takes TCP, never speaks WebSocket
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    });
    const { port } = silent.address() as AddressInfo;
    // An open timeout of ten minutes: a stop that waited for the open would outlast the test.
    const { daemon, stop } = await startDaemon({
      zenoh: { enabled: true, endpoint: `ws://127.0.0.1:${port}`, open_timeout_ms: 600_000 },
    });
    // The instance itself, through its class's port: after the stop, status no longer lists it.
    const zenoh = running(daemon, ZenohComponent)!;
    expect(zenoh.health()).toMatchObject({ state: 'degraded', reason: `connecting to ws://127.0.0.1:${port}` });
    await stop();
    // Closed within the daemon's stop, not cut off by the stop budget with the open still pending.
    expect((zenoh.health().details as Details).link.state).toBe('closed');
  });

  it('says the bridge reaches no router while the router alone is down, and is seen again once it is back', async () => {
    const { net, daemon, health, peer } = await setup({ startNetwork: true });
    await waitFor(() => health().state === 'running', 'the link up');
    await net.killRouter();
    await waitFor(
      () => health().state === 'degraded' && /reaches no router/.test(health().reason ?? ''),
      'degraded: no router',
    );
    await net.startRouter();
    await waitFor(() => health().state === 'running', 'running once the bridge has its router back', 30_000);
    await seesDaemon(peer, daemon);
  });
});
