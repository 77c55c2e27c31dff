import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { typeDescriptionHash } from '../../daemon/bus/type-hash.ts';
import type { Daemon } from '../../daemon/daemon.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { useZenohNetwork } from './zenoh-network.ts';

const BYTES = 'std_msgs/msg/ByteMultiArray';

type LinkDetails = {
  state: string;
  declarations: number;
  keepalives: number;
};

// The graph's topics come in on a session of their own, which sends nothing while their samples flow: any request
// or put on a socket makes Linux delay its ACKs by 40 ms, and the remote-api bridge (Nagle on) holds every sample
// coming in behind an unacknowledged one until then (bench/zenoh.bench.ts measures what that costs).
describe('the Zenoh receiving session', () => {
  let daemon: Daemon;
  let stopDaemon: () => Promise<void>;
  const zn = useZenohNetwork();
  const details = () =>
    daemon.componentHealth().zenoh!.details as {
      link: LinkDetails;
      receive_link?: LinkDetails;
      inbound: Record<string, { delivered: number }>;
      outbound: Record<string, { sent: number }>;
    };

  beforeAll(async () => {
    ({ daemon, stop: stopDaemon } = await startDaemon({
      api: { enabled: false },
      zenoh: {
        enabled: true,
        endpoint: zn.net.wsUrl,
        topics: ['/joint_states'],
        publish: ['/cmd_vel'],
        keepalive_ms: 100,
      },
    }));
    await waitFor(() => daemon.componentHealth().zenoh!.state === 'running', 'the Zenoh links up');
  });

  afterAll(async () => {
    await stopDaemon?.();
  });

  it('carries the graph topics in, asks the bridge nothing while samples flow, and asks again once they stop', async () => {
    const hash = typeDescriptionHash(daemon.definitions, BYTES);
    // An empty ByteMultiArray (no dims, no data) and padding, as the bench's.
    const empty = new Uint8Array(100);
    empty.set([0, 1, 0, 0]);
    const sample = Buffer.from(empty).toString('hex');
    const heard: bigint[] = [];
    daemon.bus.subscribe({ name: 'test', topic: '/joint_states', handler: (m) => void heard.push(m.publishTime) });
    const arm = await zn.peer({
      node: 'arm_driver',
      publish: { topic: '/joint_states', type: BYTES, hash, rate_hz: 500, payloads: [sample] },
    });
    await waitFor(() => heard.length >= 50, 'joint states on the bus');
    // The daemon puts on its main session meanwhile: those sends must not be the receiving session's.
    const cmdVel = daemon.bus.advertise('/cmd_vel', BYTES, { source: 'test' });
    const sender = setInterval(() => cmdVel.publish(empty), 20);
    try {
      const before = details();
      await waitFor(
        () => details().link.keepalives >= before.link.keepalives + 10,
        'ten keepalives on the main session',
      );
      const during = details();
      expect(during.outbound['/cmd_vel']!.sent).toBeGreaterThan(0);
      expect(during.inbound['/joint_states']!.delivered).toBeGreaterThan(before.inbound['/joint_states']!.delivered);
      // One tick may find a gap of a keepalive_ms between two samples on a loaded machine; ten would be every tick.
      expect(during.receive_link!.keepalives - before.receive_link!.keepalives).toBeLessThanOrEqual(2);
      // Its one declaration is the subscriber: the publisher, its token and the graph's liveliness are the main's.
      expect(during.receive_link).toMatchObject({ state: 'up', declarations: 1 });
    } finally {
      clearInterval(sender);
      cmdVel.close();
    }
    await arm.close();
    const quiet = details().receive_link!.keepalives;
    await waitFor(() => details().receive_link!.keepalives >= quiet + 3, 'keepalives on the quiet receiving session');
    expect(daemon.componentHealth().zenoh!.state).toBe('running');
  });
});
