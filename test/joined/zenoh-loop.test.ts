import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bagInfo } from '../../daemon/bags/index.ts';
import { typeDescriptionHash } from '../../daemon/bus/type-hash.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { JOINED_DOMAINS, samplesOf, useJoinedGraphs } from './joined-graphs.ts';

const STRING = 'std_msgs/msg/String';

/**
 * A loop attempt: the two routers connected, so each side's traffic and liveliness tokens reach the other; both
 * Zenoh links told to bridge every topic in (`topics: ['**']`) and the recorder to record every topic (so
 * bridge_recorded asks for them too); a topic relayed each way. Each relayed sample must reach the other side once,
 * never come back to its own side, and be on the bus and in the bag once.
 */
describe('relays between two graphs that see each other', () => {
  const joined = useJoinedGraphs(JOINED_DOMAINS.loop, { connected: true });

  it('relays each sample once each way, never back, and records it once', async () => {
    const g = joined.graphs;
    const config = g.config(
      {
        topics: [
          { topic: '/chatter', from: 'ros2dds', to: 'rmw_zenoh' },
          { topic: '/status_text', from: 'rmw_zenoh', to: 'ros2dds' },
        ],
      },
      { zenoh: { topics: ['**'] }, recorder: { enabled: true, include: ['**'], compression: 'none' } },
    );
    const { daemon, codec, dir, stop } = await startDaemon(config, 'joined-loop-');
    let stopped = false;
    joined.cleanups.push(async () => void (stopped || (await stop())));
    await waitFor(
      () =>
        daemon.status().components.zenoh?.state === 'running' &&
        daemon.status().components.zenoh_second?.state === 'running',
      'both Zenoh links up',
      30_000,
    );
    const hash = typeDescriptionHash(daemon.definitions, STRING)!;
    const text = (hex: unknown) => codec.decode<{ data: string }>(STRING, Buffer.from(String(hex), 'hex')).data;

    // Listeners on both sides of both topics: each side's own publisher's samples, and the relayed ones.
    const zenohChatter = await g.zenohPeer({ node: 'z_chatter', subscribe: { topic: '/chatter', type: STRING, hash } });
    const zenohStatus = await g.zenohPeer({
      node: 'z_status',
      subscribe: { topic: '/status_text', type: STRING, hash },
    });
    const ddsChatter = await g.dds.node({ node: 'd_chatter', role: 'subscriber', topic: '/chatter', type: 'String' });
    const ddsStatus = await g.dds.node({ node: 'd_status', role: 'subscriber', topic: '/status_text', type: 'String' });
    joined.cleanups.push(
      () => ddsChatter.close(),
      () => ddsStatus.close(),
    );

    const chatter = Array.from({ length: 40 }, (_, i) => `dds ${i}`);
    const talker = await g.dds.node({
      node: 'talker',
      role: 'publisher',
      topic: '/chatter',
      type: 'String',
      values: chatter,
      period_s: 0.05,
    });
    joined.cleanups.push(() => talker.close());
    const statusTalker = await g.zenohPeer({
      node: 'status_talker',
      publish: { topic: '/status_text', type: STRING, hash },
    });
    const status = Array.from({ length: 40 }, (_, i) => `zenoh ${i}`);
    // The relay path from the rmw_zenoh side is ready once a first sample went across; each probe its own value.
    let warmUps = 0;
    const put = (value: string) =>
      statusTalker.send(`pub ${Buffer.from(codec.encode(STRING, { data: value })).toString('hex')}`);
    await waitFor(
      () => (put(`zenoh warm-up ${warmUps++}`), ddsStatus.events.some((e) => e.event === 'received')),
      'the status path ready',
      30_000,
    );
    // Each one at the DDS side before the next: the publisher's queue never drops one on a loaded machine.
    for (const value of status) {
      put(value);
      await waitFor(() => ddsStatus.events.some((e) => e.value === value), `${value} relayed`, 30_000);
    }
    await waitFor(
      () => samplesOf(zenohChatter).some((e) => text(e.payload) === chatter.at(-1)),
      'the last /chatter relayed',
      30_000,
    );
    await waitFor(
      () => ddsStatus.events.some((e) => e.value === status.at(-1)),
      'the last /status_text relayed',
      30_000,
    );
    // Time for any copy that would come back, or go round again: such a copy takes a path through both routers and
    // the daemon that nothing sent after it shares, so no later message can stand for it. The window is the check.
    // eslint-disable-next-line tests/no-fixed-wait -- a loop's copy has no event to wait on; this window measures it
    await new Promise((r) => setTimeout(r, 2000));

    const once = (values: string[]) => expect(new Set(values).size, values.join(', ')).toBe(values.length);
    const ddsHeardChatter = ddsChatter.events.filter((e) => e.event === 'received').map((e) => String(e.value));
    const ddsHeardStatus = ddsStatus.events.filter((e) => e.event === 'received').map((e) => String(e.value));
    const zenohHeardChatter = samplesOf(zenohChatter).map((e) => text(e.payload));
    const zenohHeardStatus = samplesOf(zenohStatus).map((e) => text(e.payload));
    for (const heard of [ddsHeardChatter, ddsHeardStatus, zenohHeardChatter, zenohHeardStatus]) once(heard);
    // The relayed samples, and only those, reached the other side.
    const figures = (component: 'zenoh' | 'zenoh_second', topic: string) =>
      (daemon.status().components[component]?.details?.relays as Record<string, { relayed: number }>)[topic]!;
    expect(zenohHeardChatter).toHaveLength(figures('zenoh', '/chatter').relayed);
    expect(ddsHeardStatus).toHaveLength(figures('zenoh_second', '/status_text').relayed);
    expect(ddsHeardStatus).toEqual(expect.arrayContaining(status));
    // The bus has each topic from its own side alone: nothing came back in through the other link.
    const sources = (topic: string) => daemon.bus.stats().find((s) => s.topic === topic)!.sources;
    expect(sources('/chatter')).toEqual(['zenoh_second']);
    expect(sources('/status_text')).toEqual(['zenoh']);
    const onBus = (topic: string) => daemon.bus.stats().find((s) => s.topic === topic)!.count;
    const counts = { chatter: onBus('/chatter'), status: onBus('/status_text') };
    expect(counts.status).toBe(figures('zenoh_second', '/status_text').relayed);
    stopped = true;
    await daemon.close();
    const bags = join(dir, 'data', 'bags');
    const info = await bagInfo(join(bags, readdirSync(bags)[0]!));
    expect(info.topics.find((t) => t.name === '/chatter')).toMatchObject({ type: STRING, count: counts.chatter });
    expect(info.topics.find((t) => t.name === '/status_text')).toMatchObject({ type: STRING, count: counts.status });
    await stop();
  });
});
