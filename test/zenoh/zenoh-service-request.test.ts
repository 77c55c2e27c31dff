import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { QueryError } from '../../daemon/bus/index.ts';
import { typeDescriptionHash } from '../../daemon/bus/type-hash.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { useZenohNetwork } from './zenoh-network.ts';
import { errorText } from '../../daemon/util/index.ts';

const MSGS = resolve('test/fixtures/msgs/common_interfaces');

// The JSON a bus query gives a Zenoh service is checked against the request type before it is written: the CDR
// writer takes any object and writes a field it cannot read as zero, so a misspelt field or an int64 as a decimal
// string (seen against demo_nodes_cpp's add_two_ints_server on rmw_zenoh_cpp: 2 + "9007199254740993" answered 2)
// reached the server as a different request.
describe('a request to a ROS 2 service on Zenoh', () => {
  const zn = useZenohNetwork();
  const { cleanups, peer } = zn;

  it('is refused naming the field when it does not fit the type, and never reaches the server', async () => {
    const { daemon, stop } = await startDaemon({
      bus: { definitions: { dirs: [MSGS] } },
      zenoh: { enabled: true, endpoint: zn.net.wsUrl, services: { call: ['/set_flag'] } },
    });
    cleanups.push(stop);
    const hash = typeDescriptionHash(daemon.definitions, 'std_srvs/srv/SetBool')!;
    const server = await peer({ node: 'flag_server', serve: { service: '/set_flag', hash } });
    await waitFor(() => daemon.bus.queryables().includes('/set_flag'), 'the service served on the bus');
    await waitFor(() => daemon.componentHealth().zenoh!.state === 'running', 'the Zenoh link');
    const ask = (json: string) =>
      daemon.bus.query('/set_flag', { encoding: 'application/json', payload: new TextEncoder().encode(json) });

    const refused = await ask('{"dta": true}').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(QueryError);
    expect(refused).toMatchObject({ code: 'bad_request' });
    expect(errorText(refused)).toBe(
      'the request to ROS service /set_flag (std_srvs/srv/SetBool) is not valid: ' +
        'dta: not a field of std_srvs/srv/SetBool_Request (did you mean "data"?)',
    );

    const reply = await ask('{"data": true}');
    expect(JSON.parse(new TextDecoder().decode(reply.payload))).toEqual({ success: true, message: 'ok:1' });
    // The one request the server saw is the valid one.
    await server.next((e) => e.event === 'served', 'the request at the server');
    expect(server.events.filter((e) => e.event === 'served')).toEqual([
      expect.objectContaining({ data: 1, attachment: expect.objectContaining({ seq: 1 }) }),
    ]);
  });

  it("is answered at the server's reply, not at the query's final, which a slow server or the remote-api bridge's Nagle may hold", async () => {
    const { daemon, stop } = await startDaemon({
      bus: { definitions: { dirs: [MSGS] } },
      zenoh: { enabled: true, endpoint: zn.net.wsUrl, services: { call: ['/set_flag'], timeout_ms: 90_000 } },
    });
    cleanups.push(stop);
    const hash = typeDescriptionHash(daemon.definitions, 'std_srvs/srv/SetBool')!;
    // The final comes a minute after the reply, longer than this test waits.
    await peer({ node: 'flag_server', serve: { service: '/set_flag', hash, hold_final_s: 60 } });
    await waitFor(() => daemon.bus.queryables().includes('/set_flag'), 'the service served on the bus');
    // The graph's tokens come while the session is still being declared on, before the link is up for a call.
    await waitFor(() => daemon.componentHealth().zenoh!.state === 'running', 'the Zenoh link');
    const answer = daemon.bus.query(
      '/set_flag',
      { encoding: 'application/json', payload: new TextEncoder().encode('{"data": true}') },
      { timeoutMs: 90_000 },
    );
    let reply: { payload: Uint8Array } | undefined;
    void answer.then((r) => (reply = r));
    await waitFor(() => reply !== undefined, 'the answer before the final', 20_000);
    expect(JSON.parse(new TextDecoder().decode(reply!.payload))).toEqual({ success: true, message: 'ok:1' });
  });
});
