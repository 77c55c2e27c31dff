import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { useZenohNetwork } from './zenoh-network.ts';

const json = (value: unknown) => ({
  encoding: 'application/json',
  payload: new TextEncoder().encode(JSON.stringify(value)),
});

describe('a robot behind zenoh-bridge-ros2dds, as its bridge announces and serves', () => {
  const zn = useZenohNetwork();
  const { cleanups, peer } = zn;

  /** A DDS Trigger server routed by the bridge: its queryable is not complete (test/peers/zenoh/ros2dds_service.py). */
  async function bridgedTriggerServer(key: string): Promise<{ served: () => number }> {
    const script = join(import.meta.dirname, '..', 'peers', 'zenoh', 'ros2dds_service.py');
    const child = spawn(zn.net.peers.python, [script, zn.net.routerEndpoint, key], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stderr.resume();
    let served = 0;
    let ready = false;
    createInterface({ input: child.stdout }).on('line', (line) => {
      const event = JSON.parse(line) as { event: string; n?: number };
      if (event.event === 'ready') ready = true;
      if (event.event === 'served') served = event.n!;
    });
    cleanups.push(async () => void child.kill('SIGKILL'));
    await waitFor(() => ready || child.exitCode !== null, 'the bridged Trigger server');
    expect(child.exitCode).toBeNull();
    return { served: () => served };
  }

  it("calls a DDS service through the bridge's queryable, which is not complete", async () => {
    const server = await bridgedTriggerServer('bot1/reset');
    const { daemon, stop } = await startDaemon({
      bus: { definitions: { dirs: ['test/fixtures/msgs/common_interfaces'] } },
      zenoh: {
        enabled: true,
        endpoint: zn.net.wsUrl,
        mapping: 'ros2dds',
        namespace: '/bot1',
        services: { call: ['/reset'], timeout_ms: 3000 },
      },
    });
    cleanups.push(stop);
    await waitFor(
      () => daemon.graph.endpoints({ name: '/reset', kind: 'service' }).length === 1,
      "the robot's /reset in the graph",
    );
    await waitFor(() => daemon.bus.queryables().includes('/reset'), '/reset served on the bus');
    // The graph is read while the link declares; it is up once everything is declared.
    await waitFor(() => daemon.components.get('zenoh')!.health().state === 'running', 'the link up');
    const reply = await daemon.bus.query('/reset', json({}), { timeoutMs: 5000 });
    expect(JSON.parse(new TextDecoder().decode(reply.payload))).toEqual({ success: true, message: 'triggered 1' });
    // The call ends at the first reply, which may come before the server's own line about it.
    await waitFor(() => server.served() > 0, 'the call at the server');
    await new Promise((r) => setTimeout(r, 500));
    expect(server.served()).toBe(1);
  });

  it('reads a token without a history field as KEEP_LAST 1, the DDS default', async () => {
    const { daemon, stop } = await startDaemon({
      zenoh: { enabled: true, endpoint: zn.net.wsUrl, mapping: 'ros2dds', namespace: '/bot1', topics: ['/map'] },
    });
    cleanups.push(stop);
    await peer({
      node: 'bot1_bridge',
      raw: { tokens: ['@/0a1b2c3d/@ros2_lv/MP/bot1§map/nav_msgs§msg§OccupancyGrid/:1:1:'], key: 'bot1/map' },
    });
    await waitFor(
      () => daemon.graph.endpoints({ name: '/map', kind: 'publisher' }).length === 1,
      "the robot's /map in the graph",
    );
    expect(daemon.graph.endpoints({ name: '/map' })[0]!.qos).toEqual({
      reliability: 'reliable',
      durability: 'transient_local',
      depth: 1,
    });
  });
});
