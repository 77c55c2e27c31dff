import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.ts';
import { useZenohNetwork } from '../zenoh/zenoh-network.ts';
import { expectSameSample, useRclpyBehindBridge } from './ros2dds-world.ts';

const DOMAIN = 41;
const STRING = 'std_msgs/msg/String';
const LATCHED = { durability: 'transient_local', depth: 1 } as const;

/**
 * transient_local (latched) topics both ways between the daemon (ros2dds mapping) and rclpy nodes on Fast DDS behind
 * the real zenoh-bridge-ros2dds: a value published before the other side existed reaches it, the last one alone, once.
 */
describe('latched topics between the daemon and rclpy nodes behind the real zenoh-bridge-ros2dds', () => {
  const zn = useZenohNetwork();
  const { cleanups } = zn;
  const world = useRclpyBehindBridge(zn, DOMAIN);

  it('gets the last value an rclpy map server latched before the daemon started, once', async () => {
    const mapServer = await world.node('map_server');
    await mapServer.publisher('/map_name', STRING, LATCHED);
    await mapServer.publish('/map_name', { data: 'maze-v2' });
    const latched = await mapServer.publish('/map_name', { data: 'maze-v3 ünïcode' });
    // The bridge's route reads it with a transient_local reader of its own, made when it discovers the writer, and
    // keeps it for Zenoh subscribers that come later: the daemon is one.
    const { daemon } = await world.daemon({ topics: ['/map_name'] }, cleanups);
    const got: Buffer[] = [];
    daemon.bus.subscribe({ name: 'test', topic: '/map_name', handler: (m) => void got.push(Buffer.from(m.data)) });
    await waitFor(() => got.length > 0, 'the latched /map_name at the late daemon', 30_000);
    // depth 1: maze-v2 never comes, nor maze-v3 twice, once every history query ended and what it gave is here.
    type Inbound = { delivered: number; history_queries?: { asked: number; ended: number } };
    const inbound = () => (daemon.componentHealth().zenoh!.details as { inbound: Record<string, Inbound> }).inbound;
    await waitFor(() => {
      const topic = inbound()['/map_name'];
      const queries = topic?.history_queries;
      return !!queries && queries.asked > 0 && queries.ended === queries.asked && got.length === topic!.delivered;
    }, "the daemon's history queries ended");
    expect(got).toHaveLength(1);
    expectSameSample(got[0]!, latched);
  });

  it('latches a value the daemon published for an rclpy subscriber that comes after it, the last alone, once', async () => {
    const { daemon, codec } = await world.daemon({ publish: ['/robot_name'] }, cleanups);
    const pub = daemon.bus.advertise('/robot_name', STRING, { source: 'test', qos: LATCHED });
    pub.publish(codec.encode(STRING, { data: 'tb3-0' }));
    const last = codec.encode(STRING, { data: 'tb3-1 ñ' });
    pub.publish(last);
    const late = await world.node('late_viewer');
    await late.subscribe('/robot_name', STRING, LATCHED);
    const [taken] = await late.received('/robot_name', 1, 30_000);
    expect(taken!.fields).toEqual({ data: 'tb3-1 ñ' });
    expectSameSample(taken!.cdr, last);
    // A live value behind it: the latched one, sent twice, would have come before it.
    pub.publish(codec.encode(STRING, { data: 'tb3-2' }));
    await waitFor(() => late.messages('/robot_name').length >= 2, 'the live value at the late viewer', 30_000);
    expect(late.messages('/robot_name').map((m) => m.fields)).toEqual([{ data: 'tb3-1 ñ' }, { data: 'tb3-2' }]);
    pub.close();
  });
});
