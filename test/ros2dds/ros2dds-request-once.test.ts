import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Daemon } from '../../daemon/daemon.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { jsonQuery } from '../helpers/json-query.ts';
import { waitFor } from '../helpers/wait.ts';
import { useZenohNetwork } from '../zenoh/zenoh-network.ts';
import { useDdsWorld, type DdsEvent } from './dds-world.ts';

const DIRS = [resolve('test/fixtures/msgs/common_interfaces'), resolve('test/fixtures/msgs/rosbag2')];
const SET_RATE = 'rosbag2_interfaces/srv/SetRate';

/**
 * One request, one execution, for DDS clients calling a service the daemon serves (ros2dds mapping) through the
 * real zenoh-bridge-ros2dds: across drops of the router and the remote-api bridge, and across restarts of the daemon
 * itself. The client is a Cyclone DDS node writing rmw_cyclonedds's request header; executions are counted at the
 * bus handler the daemon's service runs.
 */
describe('a DDS request through the real zenoh-bridge-ros2dds runs once', () => {
  const zn = useZenohNetwork();
  const { cleanups } = zn;
  const world = useDdsWorld(zn);

  const served = (daemon: Daemon, service: string) => () =>
    daemon.graph.endpoints({ name: service, kind: 'service' }).some((e) => e.local);

  /** The daemon's config (ros2dds mapping) serving bus query `query` as the ROS 2 service `service`. */
  const serving = (query: string, service: string, type: string) => ({
    bus: { definitions: { dirs: DIRS } },
    zenoh: {
      enabled: true,
      endpoint: zn.net.wsUrl,
      mapping: 'ros2dds',
      namespace: '/bot1',
      services: { serve: [{ query, service, type }] },
    },
  });

  it('after the router and the remote-api bridge restarted (no second execution)', async () => {
    const { daemon, stop } = await startDaemon(serving('test/count', '/count_me', 'std_srvs/srv/Trigger'));
    cleanups.push(stop);
    let runs = 0;
    daemon.bus.serve('test/count', async () => jsonQuery({ success: true, message: `run ${++runs}` }));
    await waitFor(served(daemon, '/count_me'), 'our service token');
    // The drop that made an old route's querier come back to life in the bridge: router and remote-api killed and
    // started again on the same ports; the ros2dds bridge and the daemon reconnect by themselves.
    await zn.net.kill();
    await zn.net.start();
    await waitFor(() => daemon.status().components.zenoh?.state === 'running', 'the link up again', 30_000);
    await waitFor(served(daemon, '/count_me'), 'our service token again', 30_000);
    const caller = await world.dds.node({ node: 'caller', role: 'trigger_client', service: '/count_me' });
    cleanups.push(() => caller.close());
    const answer = await caller.next((e) => e.event === 'response' || e.event === 'timeout', 'the answer', 30_000);
    expect(answer).toMatchObject({ event: 'response', success: true, message: 'run 1' });
    // A second request on the same route: the first, delivered twice, would have run before it.
    const second = await world.dds.node({ node: 'caller2', role: 'trigger_client', service: '/count_me' });
    cleanups.push(() => second.close());
    const next = await second.next((e) => e.event === 'response' || e.event === 'timeout', 'the second answer', 30_000);
    expect(next).toMatchObject({ event: 'response', success: true, message: 'run 2' });
    expect(runs).toBe(2);
  });

  it('while the daemon restarts three times under a client that keeps calling', async () => {
    // Each execution, by the request's number (the client sends rate n with its request n), over every daemon.
    const ran: number[] = [];
    const start = async () => {
      const started = await startDaemon(serving('test/rate', '/set_rate', SET_RATE));
      started.daemon.bus.serve('test/rate', async (request) => {
        ran.push((JSON.parse(new TextDecoder().decode(request.payload)) as { rate: number }).rate);
        return jsonQuery({ success: true });
      });
      await waitFor(served(started.daemon, '/set_rate'), "the daemon's service token", 30_000);
      return started;
    };
    let daemon = await start();
    const client = await world.dds.node({
      node: 'rate_client',
      role: 'trigger_client',
      srv: 'SetRate',
      service: '/set_rate',
      calls: 400,
      period_s: 0.05,
      timeout_s: 2,
    });
    cleanups.push(() => client.close());
    const answered = () => client.events.filter((e: DdsEvent) => e.event === 'response').length;
    for (let restart = 1; restart <= 3; restart++) {
      const before = answered();
      await waitFor(() => answered() >= before + 5, `answers before restart ${restart}`, 30_000);
      await daemon.stop();
      daemon = await start();
    }
    const before = answered();
    await waitFor(() => answered() >= before + 5, 'answers after the last restart', 30_000);
    // Five more on the same route: a request from before, delivered twice, would have run before these.
    const settled = answered();
    await waitFor(() => answered() >= settled + 5, 'five answers after those', 30_000);
    await client.close();
    await daemon.stop();

    const responses = client.events.filter((e) => e.event === 'response');
    expect(responses.every((e) => e.success === true)).toBe(true);
    const twice = ran.filter((n, i) => ran.indexOf(n) !== i);
    expect(twice, `requests run more than once, of ${ran.length} runs`).toEqual([]);
    // Every answered request ran, and no request ran that the client never sent.
    const sent = client.events.filter((e) => e.event === 'sent').map((e) => Number(e.seq));
    expect(responses.map((e) => Number(e.seq)).filter((n) => !ran.includes(n))).toEqual([]);
    expect(ran.filter((n) => !sent.includes(n))).toEqual([]);
    expect(client.events.filter((e) => e.event === 'stray_response')).toEqual([]);
  });
});
