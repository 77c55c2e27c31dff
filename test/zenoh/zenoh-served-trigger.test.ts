import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { typeDescriptionHash } from '../../daemon/bus/type-hash.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { useZenohNetwork } from './zenoh-network.ts';

const MSGS = resolve('test/fixtures/msgs/common_interfaces');
const TRIGGER = 'std_srvs/srv/Trigger';

describe('a Trigger served by the daemon over Zenoh says what the bus query did', () => {
  const zn = useZenohNetwork();
  const { cleanups, peer } = zn;

  it("answers the operator's stop with success and the stop's outcome, and a query no one serves with success=false and why", async () => {
    const { daemon, codec, stop } = await startDaemon({
      bus: { definitions: { dirs: [MSGS] } },
      zenoh: {
        enabled: true,
        endpoint: zn.net.wsUrl,
        services: {
          serve: [
            { query: 'agent/stop', service: '/auraison/stop', type: TRIGGER },
            { query: 'nobody/serves', service: '/auraison/nothing', type: TRIGGER },
          ],
        },
      },
    });
    cleanups.push(stop);
    await waitFor(
      () => daemon.graph.endpoints({ kind: 'service' }).filter((e) => e.local).length === 2,
      'our two server tokens',
    );
    const hash = typeDescriptionHash(daemon.definitions, TRIGGER)!;
    const request = Buffer.from(codec.encode(`${TRIGGER}_Request`, {})).toString('hex');
    const call = async (service: string) => {
      const client = await peer({ call: { key: `0/${service}/std_srvs::srv::dds_::Trigger_/${hash}`, request } });
      const { replies } = (await client.next((e) => e.event === 'replies', `the reply of ${service}`)) as unknown as {
        replies: { ok: boolean; payload: string }[];
      };
      expect(replies).toHaveLength(1);
      expect(replies[0]!.ok).toBe(true);
      return codec.decode<{ success: boolean; message: string }>(
        `${TRIGGER}_Response`,
        Buffer.from(replies[0]!.payload, 'hex'),
      );
    };

    const stopped = await call('auraison/stop');
    expect(stopped.success).toBe(true);
    expect(JSON.parse(stopped.message)).toMatchObject({ latched: { by: 'bus', persisted: true } });

    const nothing = await call('auraison/nothing');
    expect(nothing.success).toBe(false);
    expect(nothing.message).toContain('nobody/serves');
  });
});
