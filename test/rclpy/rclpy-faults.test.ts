import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DefinitionsRegistry, MessageCodec } from '../../daemon/bus/index.ts';
import { tempDir } from '../helpers/cli.ts';
import { waitFor, waitForValue } from '../helpers/wait.ts';
import { codec, primed, startRclpyWorld, type RclpyWorld } from './rclpy-daemon.ts';
import { TopicNode } from './topic-node.ts';

/**
 * What a real ROS 2 graph (Jazzy's wheels, Fast DDS) can throw at the daemon: a node publishing bytes that are not a
 * serialized message (rclpy publishes bytes as they are), and a type the daemon knows only through
 * bus.definitions.dirs, whose C type support it builds with the wheels' rosidl and ament_cmake at start.
 */

const DOMAIN = 23;
const STRING = 'std_msgs/msg/String';
const PKG = 'edge_probe_msgs';
const TYPE = `${PKG}/msg/Probe`;

describe('a real ROS 2 graph against the daemon (Jazzy)', () => {
  let world: RclpyWorld;
  let node: TopicNode;
  let defs: { path: string; cleanup: () => void };

  beforeAll(async () => {
    defs = tempDir('rclpy-defs-');
    mkdirSync(join(defs.path, PKG, 'msg'), { recursive: true });
    writeFileSync(
      join(defs.path, PKG, 'msg', 'Probe.msg'),
      '# known to the daemon only through bus.definitions.dirs\nstring name\nint64 count\nfloat64[] values\n',
    );
    world = await startRclpyWorld(
      'jazzy',
      DOMAIN,
      { node_name: 'edge_faults', topics: ['/f/**'], publish: ['/out/**'] },
      { bus: { definitions: { dirs: [defs.path] } } },
    );
    node = await TopicNode.start(world.peer, world.env, 'rclpy_faults');
  }, 180_000);

  afterAll(async () => {
    await node?.stop();
    world?.bus.close();
    if (world) expect(await world.daemon.stop()).toBe(0);
    defs?.cleanup();
  });

  const details = () => world.daemon.rosDetails();
  it('keeps bytes with no CDR header off the bus, passes a bare header, and goes on bridging that topic', async () => {
    await node.publisher('/f/noisy', STRING);
    await world.bus.subscribe('/f/noisy');
    const decoded = (b: Buffer) => {
      try {
        return codec.decode<{ data: string }>(STRING, b).data;
      } catch {
        return undefined;
      }
    };
    const strings = () => world.bus.messages('/f/noisy').map(decoded);
    await primed(
      () => node.publish('/f/noisy', { data: 'good' }),
      () => strings().length > 0,
      'a good message',
    );
    const before = world.bus.messages('/f/noisy').length;
    // No CDR encapsulation header: rmw_fastrtps fails the take of it (its serialized type reads the header), so it
    // ends there; an RMW that handed it over would meet the bridge's own check (cdr-header.ts), which drops it.
    await node.publishRaw('/f/noisy', Buffer.from('not CDR at all'));
    // Two bytes of a header: Fast DDS pads them to four, a header with no body, which crosses as it came.
    await node.publishRaw('/f/noisy', Uint8Array.from([0, 1]));
    await node.publish('/f/noisy', { data: 'good again' });
    // It came 35-54 s later on this machine, where good messages take milliseconds: something in Fast DDS after the
    // failed take of the bytes without a header (not looked into further), so only waited for, not timed.
    await waitFor(() => strings().includes('good again'), 'the next good message on the bus', 150_000);
    const after = world.bus.messages('/f/noisy').slice(before);
    expect(after.map((b) => [...b.subarray(0, 4)])).toEqual([
      [0, 1, 0, 0],
      [0, 1, 0, 0],
    ]);
    expect(after[0]!.length).toBe(4);
    expect(decoded(after[1]!)).toBe('good again');
    expect(world.daemon.process.child.exitCode).toBeNull();
    expect((await world.daemon.status()).components.ros?.state).not.toBe('failed');
  }, 240_000);

  it("passes bytes with a CDR header but not the type's layout as they came, and runs on", async () => {
    await node.publisher('/f/truncated', STRING);
    await world.bus.subscribe('/f/truncated');
    await primed(
      () => node.publish('/f/truncated', { data: 'ok' }),
      () => world.bus.messages('/f/truncated').length > 0,
      'a good message',
    );
    // a string whose length says 2^31 - 1 bytes, and none of them
    const lying = Uint8Array.from([0, 1, 0, 0, 0xff, 0xff, 0xff, 0x7f]);
    await node.publishRaw('/f/truncated', lying);
    await waitFor(
      () => world.bus.messages('/f/truncated').some((b) => b.equals(Buffer.from(lying))),
      'the bytes on the bus as they came',
      60_000,
    );
    await node.publish('/f/truncated', { data: 'after' });
    await waitFor(
      () => world.bus.messages('/f/truncated').some((b) => b.length > 4 && b.includes(Buffer.from('after'))),
      'the next message',
      60_000,
    );
    const status = await world.daemon.status();
    expect(status.components.ros?.state).not.toBe('failed');
  }, 120_000);

  it('builds the C type support of a package known only through bus.definitions.dirs and bridges it both ways', async () => {
    // The build (cmake, rosidl's generators from the wheels) runs at start, in the background: 30-70 s here.
    const settled = await waitForValue(
      async () => {
        const problems = ((await details()).problems ?? {}) as Record<string, string>;
        const building = Object.values(problems).some((p) => p.startsWith('building the C type support'));
        return building ? undefined : problems;
      },
      `the type support of ${PKG} built`,
      300_000,
    );
    expect(settled[`types ${PKG}`]).toBeUndefined();
    // rclpy needs the same package: the daemon's build is a prefix with its Python module, as a sourced overlay
    const cache = join(world.daemon.dir, 'data', 'ros-types');
    const built = readdirSync(cache).find((n) => n.startsWith(`${PKG}-`) && !n.includes('.building'))!;
    const prefix = join(cache, built, 'install');
    const env = {
      ...world.env,
      AMENT_PREFIX_PATH: `${prefix}:${world.env.AMENT_PREFIX_PATH}`,
      LD_LIBRARY_PATH: `${join(prefix, 'lib')}:${world.env.LD_LIBRARY_PATH}`,
      PYTHONPATH: `${join(prefix, 'lib', 'python3.11', 'site-packages')}:${world.env.PYTHONPATH}`,
    };
    const local = new MessageCodec(new DefinitionsRegistry({ dirs: [defs.path] }));
    const probeNode = await TopicNode.start(world.peer, env, 'rclpy_probe_types');
    try {
      await probeNode.publisher('/f/probe', TYPE);
      await world.bus.subscribe('/f/probe');
      const message = { name: 'from rclpy', count: '9007199254740993', values: [0.5, -2.25] };
      await primed(
        () => probeNode.publish('/f/probe', message),
        () => world.bus.messages('/f/probe').length > 0,
        'the local type to the bus',
      );
      // the bus decodes it with the same definition: the int64 past 2^53 exact
      const [first] = world.bus.messages('/f/probe');
      expect(local.decode(TYPE, first!)).toEqual({
        name: 'from rclpy',
        count: 9007199254740993n,
        values: Float64Array.from([0.5, -2.25]),
      });
      // and from the bus to the rclpy node
      await probeNode.subscribe('/out/probe', TYPE);
      const back = local.encode(TYPE, { name: 'from the bus', count: -9007199254740993n, values: [1e-300] });
      await primed(
        () => world.bus.publish('/out/probe', TYPE, back),
        () => probeNode.messages('/out/probe').length > 0,
        'the local type to ROS',
      );
      expect(probeNode.messages('/out/probe')[0]!.fields).toEqual({
        name: 'from the bus',
        count: '-9007199254740993',
        values: [1e-300],
      });
    } finally {
      await probeNode.stop();
    }
  }, 400_000);
});
