import { describe, expect, it } from 'vitest';
import { EVENTS_TOPIC } from '../../daemon/foxglove/foxglove-bridge.ts';
import { foxgloveTestBed, serverHasRead, type TestClient } from './foxglove-harness.ts';

// What one client's frames can make the daemon do: the protocol library answers each item of a subscribe
// or unsubscribe on its own, straight to the socket; those answers are throttled like the daemon's own, and
// a list too long to be a client's (or a string in place of one) never reaches it.

const { start, connectReady } = foxgloveTestBed();

const unsubscribe = (c: TestClient, ids: unknown) =>
  c.ws.send(JSON.stringify({ op: 'unsubscribe', subscriptionIds: ids }));
const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);
const suppressed = (bridge: { metrics(): { name: string; samples: { value: number }[] }[] }) =>
  bridge.metrics().find((f) => f.name === 'auraison_foxglove_statuses_suppressed_total')!.samples[0]!.value;

describe('what a flood of frames makes the daemon say', () => {
  it("sends ten of the protocol library's own statuses a second to a client, then one with the count of the rest", async () => {
    let now = 0;
    const { bridge } = await start({}, { now: () => now });
    const c = await connectReady(bridge.url!);
    unsubscribe(c, range(1000, 50)); // ids it never subscribed: the library answers each
    await serverHasRead(c);
    expect(c.statuses.map((st) => st.message)).toEqual(
      range(1000, 10).map((id) => `Client subscription id ${id} did not exist; ignoring unsubscription`),
    );
    expect(suppressed(bridge)).toBe(40);

    now += 1000;
    unsubscribe(c, [7]);
    await serverHasRead(c);
    expect(c.statuses.slice(10).map((st) => st.message)).toEqual([
      'Client subscription id 7 did not exist; ignoring unsubscription (and 40 more status messages held back since the last one, at most 10 a second)',
    ]);

    // The daemon's own statuses have a budget of their own: the library's flood does not silence them.
    unsubscribe(c, range(2000, 20));
    c.ws.send('{"op":"dance"}');
    await serverHasRead(c);
    expect(c.statuses.at(-1)!.message).toBe(
      'unknown op "dance" (this server takes subscribe, unsubscribe, advertise, unadvertise)',
    );
  });

  it('refuses a list with more items than the server takes in one frame, or a string for a list, before the library answers each item', async () => {
    let now = 0;
    const { bridge } = await start({}, { now: () => now });
    const c = await connectReady(bridge.url!);
    const next = async (send: () => void) => {
      now += 1000; // a second apart: each frame's statuses are counted on their own
      const before = c.statuses.length;
      send();
      await serverHasRead(c);
      return c.statuses.slice(before).map((st) => st.message);
    };

    expect(await next(() => unsubscribe(c, range(0, 100_000)))).toEqual([
      'unsubscribe: 100000 subscriptionIds in one frame, more than the 1024 this server takes in one (send them in several frames)',
    ]);
    expect(
      await next(() => c.ws.send(JSON.stringify({ op: 'subscribe', subscriptions: 'x'.repeat(100_000) }))),
    ).toEqual(['subscribe: "subscriptions" must be a list of {id, channelId} objects, got a string']);
    expect(await next(() => unsubscribe(c, 'y'.repeat(10)))).toEqual([
      'unsubscribe: "subscriptionIds" must be a list of subscription ids (numbers), got a string',
    ]);
    // At the limit, the frame goes to the library, which answers (ten of) its items.
    expect(await next(() => unsubscribe(c, range(0, 1024)))).toHaveLength(10);
    expect(await next(() => unsubscribe(c, range(0, 1025)))).toEqual([
      expect.stringMatching(/^unsubscribe: 1025 subscriptionIds in one frame/),
    ]);

    // The client is still served.
    c.client.subscribe(c.channels.get(EVENTS_TOPIC)!.id);
    expect(await next(() => c.client.subscribe(c.channels.get(EVENTS_TOPIC)!.id))).toEqual([
      expect.stringMatching(/^Client already subscribed to channel/),
    ]);
  });
});
