import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { QueryPayload } from '../../daemon/bus/index.ts';
import { typeClass } from '../../adapters/ros/index.ts';
import { tempDir } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { startRosDaemon } from './ros-daemon.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const undo of cleanups.splice(0).reverse()) await undo();
});

const json = (value: unknown): QueryPayload => ({
  encoding: 'application/json',
  payload: new TextEncoder().encode(JSON.stringify(value)),
});
const parse = (reply: QueryPayload): unknown => JSON.parse(new TextDecoder().decode(reply.payload));

describe('the ROS 2 bridge, services', () => {
  it('serves a ROS service as a bus query of its name, as call_service calls it, while a node serves it', async () => {
    // The service's definition, as a ROS install's share folder has it, for the registry to check requests with.
    const share = tempDir('ros-share-');
    cleanups.push(share.cleanup);
    mkdirSync(join(share.path, 'example_interfaces', 'srv'), { recursive: true });
    writeFileSync(
      join(share.path, 'example_interfaces', 'srv', 'AddTwoInts.srv'),
      'int64 a\nint64 b\n---\nint64 sum\n',
    );
    const d = await startRosDaemon(
      { services: { call: ['/add_two_ints'] } },
      { bus: { definitions: { dirs: [share.path] } } },
    );
    cleanups.push(d.stop);
    const adder = d.world.peer('adder');
    adder.createService(typeClass('example_interfaces/srv/AddTwoInts'), '/add_two_ints', (request, response) => {
      const { a, b } = request as { a: bigint; b: bigint };
      response.send({ sum: a + b });
    });
    await waitFor(() => d.daemon.bus.queryables().includes('/add_two_ints'), '/add_two_ints served on the bus');
    expect(d.daemon.graph.endpoints({ name: '/add_two_ints' })).toContainEqual(
      expect.objectContaining({ kind: 'service', node: '/adder', type: 'example_interfaces/srv/AddTwoInts' }),
    );

    const reply = await d.daemon.bus.query('/add_two_ints', json({ a: 2, b: 40 }));
    expect(reply.encoding).toBe('application/json');
    expect(parse(reply)).toEqual({ sum: '42' }); // int64 as a decimal string, as the contract writes ns times
    expect(parse(await d.daemon.bus.query('/add_two_ints', json({ a: '9007199254740993', b: 1 })))).toEqual({
      sum: '9007199254740994',
    });
    await expect(d.daemon.bus.query('/add_two_ints', json({ a: 2, c: 40 }))).rejects.toThrow(
      /the request to ROS service \/add_two_ints \(example_interfaces\/srv\/AddTwoInts\) is not valid: c: not a field/,
    );
    await expect(
      d.daemon.bus.query('/add_two_ints', { encoding: 'application/cdr', payload: new Uint8Array(4) }),
    ).rejects.toThrow(/takes application\/json requests/);

    adder.destroy();
    await waitFor(() => !d.daemon.bus.queryables().includes('/add_two_ints'), '/add_two_ints no longer served');
    expect(d.health().state).toBe('running');
  });

  it("serves agent/stop as a ROS service a node's e-stop button calls (std_srvs/srv/Trigger)", async () => {
    const d = await startRosDaemon({
      services: { serve: [{ query: 'agent/stop', service: '/auraison/stop', type: 'std_srvs/srv/Trigger' }] },
    });
    cleanups.push(d.stop);
    const estop = d.world.peer('estop_button');
    const client = estop.createClient(typeClass('std_srvs/srv/Trigger'), '/auraison/stop');
    await waitFor(() => client.isServiceServerAvailable(), 'the stop service');
    const response = (await client.sendRequestAsync({}, { timeout: 10_000 })) as { success: boolean; message: string };
    expect(response.success).toBe(true);
    expect(JSON.parse(response.message)).toMatchObject({ topic: '/cmd_vel', cancelled: [] });
    expect(d.daemon.status().components.stop?.details).toMatchObject({ asked: 1 });
    await waitFor(
      () => d.daemon.graph.endpoints({ name: '/auraison/stop', kind: 'service' }).length === 1,
      "the daemon's service in the graph",
    );
    expect(d.daemon.graph.endpoints({ name: '/auraison/stop' })).toContainEqual(
      expect.objectContaining({ node: '/auraison_edge', local: true }),
    );
  });

  it('tells a ROS client that the bus query failed, in the response, and keeps serving', async () => {
    const d = await startRosDaemon({
      services: { serve: [{ query: 'robot/none', service: '/none', type: 'std_srvs/srv/SetBool' }], timeout_ms: 200 },
    });
    cleanups.push(d.stop);
    const client = d.world.peer('caller').createClient(typeClass('std_srvs/srv/SetBool'), '/none');
    await waitFor(() => client.isServiceServerAvailable(), 'the /none service');
    const response = (await client.sendRequestAsync({ data: true }, { timeout: 10_000 })) as {
      success: boolean;
      message: string;
    };
    expect(response.success).toBe(false);
    expect(response.message).toMatch(/^nothing serves query robot\/none/);
    expect(d.health().state).toBe('running');
  });
});
