import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BusActionClient } from '../../daemon/actions/index.ts';
import { typeDescriptionHash } from '../../daemon/bus/type-hash.ts';
import { entityGid } from '../../adapters/zenoh/rmw-zenoh-keys.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { fibonacciHashes } from './fibonacci-hashes.ts';
import { ZenohNetwork, type Peer, type PeerEvent } from './zenoh-network.ts';

const MSGS = resolve('test/fixtures/msgs/common_interfaces');
const ACTION_SERVER = resolve('test/peers/zenoh/action_server.py');
const QUERY_SPY = resolve('test/peers/zenoh/query_spy.py');
const FIBONACCI = 'test_msgs/action/Fibonacci';

interface Attached {
  key: string;
  attachment: { gid: string; seq: number };
}

// rmw_zenoh gives each client the GID of its liveliness token, and the token holds the session's zid. The daemon's
// service clients and action clients made their GIDs once, when created: after its session moved to a new bridge (a
// new zid, new tokens), their requests carried a GID that no token announced.
describe("the GIDs on the daemon's service and action requests over Zenoh", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it("are XXH3-128 of the client's token a peer sees, and follow the token to a new bridge", async () => {
    const net = await ZenohNetwork.create();
    cleanups.push(() => net.close());
    await net.start();
    const { daemon, codec, stop } = await startDaemon({
      bus: { definitions: { dirs: [MSGS] } },
      zenoh: {
        enabled: true,
        endpoint: net.wsUrl,
        services: { call: ['/set_flag'] },
        actions: { call: ['/fibonacci'] },
        reconnect_min_ms: 50,
        reconnect_max_ms: 300,
      },
    });
    cleanups.push(stop);
    const zenoh = { health: () => daemon.componentHealth().zenoh! }; // as status shows it
    const zid = () => (zenoh.health().details as { link: { zid: string } }).link.zid;
    const peers: Peer[] = [];
    const peer = async (spec: Record<string, unknown>, script?: string) => {
      const p = await net.peer(spec, script);
      peers.push(p);
      return p;
    };
    cleanups.push(async () => void (await Promise.all(peers.map((p) => p.close()))));

    // The servers stay on the router for the whole test, so the daemon's clients are the same ones after the move.
    const flags = await peer({
      node: 'flag_server',
      serve: { service: '/set_flag', hash: typeDescriptionHash(daemon.definitions, 'std_srvs/srv/SetBool') },
    });
    await peer({ action: '/fibonacci', hashes: fibonacciHashes(daemon.definitions), step_s: 0.05 }, ACTION_SERVER);
    const spy = await peer({ key: '0/fibonacci/_action/**' }, QUERY_SPY);
    const client = new BusActionClient({ bus: daemon.bus, codec, name: '/fibonacci', type: FIBONACCI });

    /** One call of each client through the daemon's current session: its requests' GIDs, and its tokens' hashes. */
    const round = async (viewerName: string) => {
      await waitFor(() => zenoh.health().state === 'running', 'the Zenoh link');
      await waitFor(() => daemon.bus.queryables().includes('/set_flag') && client.available(), 'the clients');
      const viewer = await peer({ node: viewerName, liveliness: true });
      const before = { served: flags.events.length, queries: spy.events.length };
      const reply = await daemon.bus.query('/set_flag', {
        encoding: 'application/json',
        payload: new TextEncoder().encode('{"data": true}'),
      });
      expect(JSON.parse(new TextDecoder().decode(reply.payload))).toEqual({ success: true, message: 'ok:1' });
      // A goal long enough to cancel: send_goal, get_result and cancel_goal each ask once.
      const goal = (await client.sendGoal({ order: 40 }))!;
      await goal.cancel();
      expect((await goal.result({ timeoutMs: 20_000 })).state).toBe('canceled');
      // The peers log a request as it comes, which on a loaded machine can be after the daemon has its answer.
      await waitFor(() => {
        const asked = new Set(
          spy.events.slice(before.queries).flatMap((e) => (e.event === 'query' ? [String(e.key).split('/')[3]] : [])),
        );
        const served = flags.events.slice(before.served).some((e) => e.event === 'served');
        return served && ['send_goal', 'get_result', 'cancel_goal'].every((s) => asked.has(s));
      }, 'the peers to log every request');

      const requests = [
        ...(flags.events.slice(before.served).filter((e) => e.event === 'served') as unknown as Attached[]).map(
          (e) => ({ service: 'set_flag', gid: e.attachment.gid }),
        ),
        ...(spy.events.slice(before.queries).filter((e) => e.event === 'query') as unknown as Attached[]).map((e) => ({
          service: e.key.split('/')[3]!,
          gid: e.attachment.gid,
        })),
      ];
      const clientToken = async (service: string) => {
        const mangled = service === 'set_flag' ? '%set_flag' : `%fibonacci%_action%${service}`;
        const token = await viewer.next(
          (e: PeerEvent) =>
            e.event === 'token' &&
            e.alive === true &&
            String(e.key).includes(`/${zid()}/`) &&
            String(e.key).includes(`/SC/%/%/auraison_edge/${mangled}/`),
          `the daemon's ${service} client token`,
        );
        return Buffer.from(entityGid(String(token.key))).toString('hex');
      };
      const expected: Record<string, string> = {};
      for (const service of ['set_flag', 'send_goal', 'get_result', 'cancel_goal'])
        expected[service] = await clientToken(service);
      expect(new Set(requests.map((r) => r.service))).toEqual(new Set(Object.keys(expected)));
      for (const { service, gid } of requests) expect({ service, gid }).toEqual({ service, gid: expected[service] });
      // Each client is an entity of its own, as rcl_action's three clients are.
      expect(new Set(Object.values(expected)).size).toBe(4);
      return expected;
    };

    const first = await round('viewer');
    const firstZid = zid();
    await net.killBridge();
    await net.startBridge();
    await waitFor(() => zenoh.health().state === 'running' && zid() !== firstZid, 'the session on the new bridge');
    const second = await round('viewer2');
    for (const service of Object.keys(first)) expect(second[service]).not.toBe(first[service]);
  });
});
