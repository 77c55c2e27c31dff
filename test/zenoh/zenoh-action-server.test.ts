import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fibonacciHashes } from './fibonacci-hashes.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { fibonacciServer } from '../helpers/fibonacci-server.ts';
import { waitFor } from '../helpers/wait.ts';
import { useZenohNetwork } from './zenoh-network.ts';

const CLIENT = resolve('test/peers/zenoh/action_client.py');
const TYPE = 'test_msgs/action/Fibonacci';

// The daemon as the action server of clients on Zenoh: a bus action (as the sim's navigate_to_pose) named in
// zenoh.actions.serve, used by an rmw_zenoh-keyed client (test/peers/zenoh/action_client.py, written here).
describe('a bus action served to action clients on Zenoh', () => {
  const zn = useZenohNetwork();
  const { cleanups, peer } = zn;
  // Each test's daemon leaves the network with its test: two daemons serving /fibonacci, one latched and one not,
  // would each answer a client's goal, and the one that answered first decided the test.
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function serving() {
    const { daemon, codec, stop } = await startDaemon({
      zenoh: { enabled: true, endpoint: zn.net.wsUrl, actions: { serve: [{ action: '/fibonacci', type: TYPE }] } },
    });
    cleanups.push(stop);
    const { server, cancelled } = fibonacciServer({
      bus: daemon.bus,
      codec,
      name: '/fibonacci',
      type: TYPE,
      stepMs: 50,
    });
    cleanups.push(async () => server.close());
    await waitFor(
      // Its own token: the other test's daemon, still on the network until the file's cleanups, announces one too.
      () =>
        daemon.graph.endpoints({ name: '/fibonacci/_action/send_goal', kind: 'service' }).filter((e) => e.local)
          .length === 1,
      "the daemon's send_goal token",
      60_000,
    );
    const hashes = fibonacciHashes(daemon.definitions);
    // The action's hidden services hash as rosidl describes them (request, response, event), as rmw_zenoh keys them.
    expect(hashes.send_goal).toMatch(/^RIHS01_[0-9a-f]{64}$/);
    expect(daemon.graph.endpoints({ name: '/fibonacci/_action/send_goal' }).find((e) => e.local)?.typeHash).toBe(
      hashes.send_goal,
    );
    return { daemon, cancelled, hashes };
  }

  it('accepts a goal, streams its feedback and answers its result; rejects a goal the bus server rejects', async () => {
    const { hashes } = await serving();
    const client = await peer({ action: '/fibonacci', hashes, order: 5 }, CLIENT);
    await client.next((e) => e.event === 'accepted', 'the goal accepted');
    const result = await client.next((e) => e.event === 'result', 'the result');
    expect(result).toMatchObject({ status: 4, sequence: [0, 1, 1, 2, 3] });
    // Feedback is a volatile topic, as rcl_action's: on a loaded machine one may go before the client hears the
    // publisher. What comes is each step's sequence, in order.
    const feedback = client.events.filter((e) => e.event === 'feedback').map((e) => e.sequence as number[]);
    const steps = [[0], [0, 1], [0, 1, 1], [0, 1, 1, 2], [0, 1, 1, 2, 3]];
    expect(feedback.length).toBeGreaterThan(0);
    expect(feedback).toEqual(steps.filter((s) => feedback.some((f) => f.length === s.length)));
    await client.close();

    const rejected = await peer({ action: '/fibonacci', hashes, order: -1 }, CLIENT);
    expect(await rejected.next((e) => e.event === 'rejected', 'the goal rejected')).toMatchObject({ answered: true });
    await rejected.close();
  });

  it("rejects a goal while the operator's stop is latched, before the bus server sees it; released, accepts it", async () => {
    const { daemon, hashes } = await serving();
    await daemon.haltAuthority.halt('ada', 'zenoh served goal test');
    try {
      const latched = await peer({ action: '/fibonacci', hashes, order: 3 }, CLIENT);
      expect(await latched.next((e) => e.event === 'rejected', 'the goal rejected')).toMatchObject({ answered: true });
      await latched.close();
    } finally {
      await daemon.haltAuthority.latch.release();
    }
    const released = await peer({ action: '/fibonacci', hashes, order: 3 }, CLIENT);
    expect(await released.next((e) => e.event === 'result', 'the result')).toMatchObject({ status: 4 });
    await released.close();
  });

  it('cancels the goal at the bus server when the Zenoh client cancels, and answers it canceled', async () => {
    const { cancelled } = await serving().then(async (s) => {
      const client = await peer({ action: '/fibonacci', hashes: s.hashes, order: 100, cancel_after: 2 }, CLIENT);
      const canceled = await client.next((e) => e.event === 'canceled', 'the cancel answered');
      expect(canceled).toMatchObject({ return_code: 0 });
      const result = await client.next((e) => e.event === 'result', 'the result');
      expect(result.status).toBe(5);
      await client.close();
      return s;
    });
    expect(cancelled).toHaveLength(1);
  });
});
