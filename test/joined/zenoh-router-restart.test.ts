import { describe, expect, it } from 'vitest';
import { typeDescriptionHash } from '../../daemon/bus/type-hash.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { JOINED_DOMAINS, samplesOf, useJoinedGraphs } from './joined-graphs.ts';

const STRING = 'std_msgs/msg/String';

/**
 * One side's router killed and started again while a topic is relayed each way: that side's link goes degraded
 * and comes back, the other side's stays up all along, and both relays carry samples again.
 */
describe('relays across a router of one side killed and restarted', () => {
  const joined = useJoinedGraphs(JOINED_DOMAINS.restart);

  it('carries both relays again after the DDS side router, then the rmw_zenoh side router, come back', async () => {
    const g = joined.graphs;
    const relays = {
      topics: [
        { topic: '/chatter', from: 'ros2dds', to: 'rmw_zenoh' },
        { topic: '/status_text', from: 'rmw_zenoh', to: 'ros2dds' },
      ],
    };
    const { daemon, codec, stop } = await startDaemon(g.config(relays), 'joined-restart-');
    joined.cleanups.push(stop);
    const state = (c: 'zenoh' | 'zenoh_second') => daemon.status().components[c]?.state;
    await waitFor(() => state('zenoh') === 'running' && state('zenoh_second') === 'running', 'both links up', 30_000);
    const hash = typeDescriptionHash(daemon.definitions, STRING)!;
    const listener = await g.zenohPeer({ node: 'listener', subscribe: { topic: '/chatter', type: STRING, hash } });
    const talker = await g.dds.node({
      node: 'talker',
      role: 'publisher',
      topic: '/chatter',
      type: 'String',
      values: ['tick'],
      period_s: 0.1,
      repeat: true,
    });
    const reader = await g.dds.node({ node: 'reader', role: 'subscriber', topic: '/status_text', type: 'String' });
    joined.cleanups.push(
      () => talker.close(),
      () => reader.close(),
    );
    const writer = await g.zenohPeer({
      node: 'writer',
      publish: {
        topic: '/status_text',
        type: STRING,
        hash,
        rate_hz: 10,
        payloads: [Buffer.from(codec.encode(STRING, { data: 'tock' })).toString('hex')],
      },
    });
    void writer;
    const heardZenoh = () => samplesOf(listener).length;
    const heardDds = () => reader.events.filter((e) => e.event === 'received').length;
    const flowing = async (what: string) => {
      const [z, d] = [heardZenoh(), heardDds()];
      await waitFor(() => heardZenoh() > z + 3 && heardDds() > d + 3, what, 60_000);
    };
    await flowing('both relays carrying samples');

    await g.ddsNet.killRouter();
    await waitFor(() => state('zenoh_second') === 'degraded', 'the DDS side link degraded', 30_000);
    expect(state('zenoh')).toBe('running');
    await g.ddsNet.startRouter();
    await waitFor(() => state('zenoh_second') === 'running', 'the DDS side link back', 60_000);
    await flowing('both relays carrying samples after the DDS side router came back');

    await g.zenohNet.killRouter();
    await waitFor(() => state('zenoh') === 'degraded', 'the rmw_zenoh side link degraded', 30_000);
    expect(state('zenoh_second')).toBe('running');
    await g.zenohNet.startRouter();
    await waitFor(() => state('zenoh') === 'running', 'the rmw_zenoh side link back', 60_000);
    // The rmw_zenoh peers were clients of the killed router: they reconnect as rmw_zenoh's nodes do.
    await flowing('both relays carrying samples after the rmw_zenoh side router came back');
    expect(new Set(daemon.bus.stats().find((s) => s.topic === '/chatter')!.sources)).toEqual(new Set(['zenoh_second']));
  });
});
