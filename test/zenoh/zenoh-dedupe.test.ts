import { resolve } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { typeDescriptionHash } from '../../daemon/bus/type-hash.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { useZenohNetwork } from './zenoh-network.ts';

const MSGS = resolve('test/fixtures/msgs/common_interfaces');
const TRIGGER = 'std_srvs/srv/Trigger';

describe('a service the daemon serves over Zenoh', () => {
  const zn = useZenohNetwork();
  const { peer } = zn;

  /** The daemon serving `test/move` as /move (a Trigger), counting its runs. */
  async function serving() {
    const { daemon, codec, stop } = await startDaemon({
      bus: { definitions: { dirs: [MSGS] } },
      zenoh: {
        enabled: true,
        endpoint: zn.net.wsUrl,
        reconnect_min_ms: 50,
        reconnect_max_ms: 300,
        services: { serve: [{ query: 'test/move', service: '/move', type: TRIGGER }] },
      },
    });
    // Stopped when its test ends: a daemon left running serves the same key on the same network, and after the
    // restart the router may route the next test's request to it, which has not seen it (and runs it).
    onTestFinished(stop);
    const counted = { runs: 0 };
    daemon.bus.serve('test/move', async () => {
      counted.runs++;
      return { encoding: 'application/json', payload: new TextEncoder().encode(JSON.stringify({ run: counted.runs })) };
    });
    const served = () => daemon.graph.endpoints({ kind: 'service' }).some((e) => e.local);
    await waitFor(served, 'our server token');
    const key = `0/move/std_srvs::srv::dds_::Trigger_/${typeDescriptionHash(daemon.definitions, TRIGGER)!}`;
    const request = Buffer.from(codec.encode(`${TRIGGER}_Request`, {})).toString('hex');
    // Each call is a separate eclipse-zenoh session sending rmw_zenoh's attachment with one client GID.
    const call = async (seq: number) => {
      const client = await peer({ call: { key, request, seq } });
      const { replies } = (await client.next(
        (e) => e.event === 'replies',
        `the reply to request ${seq}`,
      )) as unknown as {
        replies: { ok: boolean; payload: string; attachment: { seq: number } }[];
      };
      expect(replies).toHaveLength(1);
      expect(replies[0]!.attachment.seq).toBe(seq);
      return codec.decode<{ success: boolean; message: string }>(
        `${TRIGGER}_Response`,
        Buffer.from(replies[0]!.payload, 'hex'),
      );
    };
    const services = () =>
      (daemon.status().components.zenoh?.details as { services: Record<string, unknown> }).services;
    return { daemon, counted, served, call, services };
  }

  it("runs one request once: the same request again (same client GID and sequence number) gets the first reply, and the client's next request runs", async () => {
    const { counted, call, services } = await serving();
    const first = await call(7);
    const again = await call(7);
    expect(counted.runs).toBe(1);
    expect(again).toEqual(first);
    expect(JSON.parse(first.message)).toEqual({ run: 1 });

    const next = await call(8);
    expect(counted.runs).toBe(2);
    expect(JSON.parse(next.message)).toEqual({ run: 2 });
    expect(services()).toMatchObject({ served: 2, duplicates: 1 });
  });

  it('runs a request once across a reconnect: the router and the remote-api bridge restarted, the same request again gets the first reply', async () => {
    const { daemon, counted, served, call, services } = await serving();
    const first = await call(21);
    expect(counted.runs).toBe(1);
    await zn.net.kill();
    await zn.net.start();
    await waitFor(() => daemon.status().components.zenoh?.state === 'running', 'the link up again', 30_000);
    await waitFor(served, 'our server token again', 30_000);
    // A client that retries after the drop, with the request it sent before it.
    expect(await call(21)).toEqual(first);
    expect(counted.runs).toBe(1);
    expect(JSON.parse((await call(22)).message)).toEqual({ run: 2 });
    expect(services()).toMatchObject({ served: 2, duplicates: 1 });
  });
});
