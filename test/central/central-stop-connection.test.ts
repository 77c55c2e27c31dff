import { describe, expect, it } from 'vitest';
import { CommandSigner } from '../../central/command-signer.ts';
import type { Daemon } from '../../daemon/daemon.ts';
import { blockThisLoopUntil } from '../helpers/blocked-loop.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { testKey } from '../helpers/command-key.ts';
import { skillIntent } from '../helpers/intents.ts';
import { waitFor, waitForValue } from '../helpers/wait.ts';
import { brokerAndCentral, centralDaemon, PREFIX } from './central-harness.ts';
import { publishFromThread, signedStop } from './stop-publisher.ts';
import { HaltLine } from '../../daemon/halt/index.ts';

// Central's stop on the stop connection (motion.stop.central_connection): a thread of the daemon's own, on a second
// MQTT connection, marks central's signed stop on the stop line while the daemon's event loop is blocked (the test's,
// which an in-process daemon shares); what central did not sign for this robot, or sent before, marks nothing. Once the
// loop runs, the main thread halts once per stop and the link acks it as ever.

const cleanups = cleanupStack();
const INTENTS = `${PREFIX}/intents`;

const signed = (signer?: CommandSigner, robot?: string, lifetimeS?: number) =>
  signedStop(INTENTS, signer, robot, lifetimeS);

const stopConnection = (daemon: Daemon) =>
  (daemon.status().components.central!.details as { stop_connection: Record<string, unknown> }).stop_connection;

/** The stops the thread read: those it marked, and those it refused as taken (by the link, first). */
const threadRead = (daemon: Daemon) => {
  const { stops, refused } = stopConnection(daemon) as { stops: number; refused: Record<string, number> };
  return stops + (refused.replayed ?? 0);
};

/** The zero Twists on /cmd_vel from now on, counted: nothing here drives the robot, so each is a halt's. */
function zeroTwists(daemon: Daemon): () => number {
  let zeros = 0;
  daemon.bus.subscribe({ name: 'test', topic: '/cmd_vel', handler: () => void zeros++ });
  return () => zeros;
}

describe("central's stop connection", () => {
  it("marks central's stop on the stop line with the event loop blocked; forged, replayed and other robots' stops do not", async () => {
    const { broker, central } = await brokerAndCentral(cleanups);
    const started = await centralDaemon(broker.url, { motion: { stop: { central_connection: true } } });
    cleanups.push(started.stop);
    const { daemon } = started;
    await waitFor(() => stopConnection(daemon).state === 'connected', 'the stop connection to be up');
    const line = new HaltLine(daemon.haltAuthority.haltLine);
    const zeros = zeroTwists(daemon);
    const ackOf = (id: string) =>
      waitForValue(() => central.acks().find((a) => a.intent_id === id && a.status !== 'pending'), `the ack of ${id}`);

    // A stop taken before, with the loop running: both paths read it, and whichever read it first marked the line; its
    // replay below is refused by each.
    const first = signed();
    const stopsAtFirst = line.stops;
    const readAtFirst = threadRead(daemon);
    await central.client.publishAsync(INTENTS, first.payload, {
      qos: 1,
      properties: { userProperties: first.userProperties },
    });
    await ackOf(first.id);
    // The stop skill's zero can come after the ack: both of the first stop's zeros are in before the count below.
    await waitFor(() => zeros() >= 2, "the first stop's halt and its stop skill's zero");
    // The thread's copy may come after the link's ack: the count below is taken once both paths read it.
    await waitFor(() => threadRead(daemon) > readAtFirst && line.pending === 0, 'both paths to read the first stop');
    expect(line.stops).toBeGreaterThan(stopsAtFirst);

    // Central's signature of another stop, on this one.
    const forgedIntent = skillIntent('stop', {});
    const forged = { ...signed(), id: forgedIntent.intent_id, payload: JSON.stringify(forgedIntent) };
    const otherRobot = signed(new CommandSigner({ key: testKey }), 'tb3-2');
    // Signed two minutes ago: below the window of counters this robot still takes.
    const old = signed(new CommandSigner({ key: testKey, now: () => Date.now() - 120_000 }));
    const expired = signed(new CommandSigner({ key: testKey, now: () => Date.now() - 10_000 }), 'tb3-1', 1);
    const stop = signed();
    // In this order, at QoS 1 from one client: each reaches the stop connection before the next, so when the last
    // marks the line the others were read, and any of them that had marked it shows in the count.
    const stopsBefore = line.stops;
    const published = publishFromThread(cleanups, {
      url: broker.url,
      topic: INTENTS,
      messages: [forged, first, otherRobot, old, expired, stop],
    });
    const marked = blockThisLoopUntil(() => line.stops > stopsBefore, 20_000);
    expect(marked).toBe(true);
    // Still blocked: the publisher's end, and the count once every message was read.
    blockThisLoopUntil(() => published() !== undefined, 10_000);
    expect(published()).toBe('published');
    expect(line.stops).toBe(stopsBefore + 1);
    // Held until the main thread takes it.
    expect(line.pending).toBe(1);
    expect(line.holds).toBe(true);

    // The loop runs again: the main thread halts once for it, and the link runs and acks it as it acks every stop.
    const zerosBefore = zeros();
    expect(await ackOf(stop.id)).toMatchObject({ status: 'accepted' });
    await waitFor(() => line.pending === 0, 'the main thread to take the mark');
    // The stop line's halt, then the stop skill's, which is the operator's stop again: zeros from both. That the
    // forged, replayed and other robots' stops stopped nothing is the line's count below and their refusals.
    await waitFor(() => zeros() >= zerosBefore + 2, "the halt and the stop skill's zero");
    expect(central.acks().filter((a) => a.intent_id === stop.id && a.status !== 'pending')).toHaveLength(1);
    // The link refused each of the others, and acked it so.
    for (const [message, code] of [
      [forged, 'bad_signature'],
      [otherRobot, 'wrong_robot'],
      [old, 'replayed'],
      [expired, 'expired'],
    ] as const)
      expect(await ackOf(message.id)).toMatchObject({ status: 'refused', error: { code } });
    const connection = stopConnection(daemon);
    expect(connection.refused).toMatchObject({ bad_signature: 1, wrong_robot: 1, expired: 1 });
    expect((connection.refused as Record<string, number>).replayed).toBeGreaterThanOrEqual(2);
    // The stop's mark on the line, and the stop skill's own (the operator's stop): none of the refused ones.
    expect(line.stops).toBe(stopsBefore + 2);
  });

  it('reconnects after the broker comes back, and says so in status', async () => {
    const { broker } = await brokerAndCentral(cleanups);
    const started = await centralDaemon(broker.url, { motion: { stop: { central_connection: true } } });
    cleanups.push(started.stop);
    const { daemon } = started;
    await waitFor(() => stopConnection(daemon).state === 'connected', 'the stop connection to be up');
    expect(stopConnection(daemon)).toMatchObject({ client_id: 'auraison-edge-lab-tb3-1/stop', connects: 1 });
    await broker.stop();
    await waitFor(() => stopConnection(daemon).state !== 'connected', 'the stop connection to see the broker gone');
    expect(stopConnection(daemon).last_error).toBeTruthy();
    await broker.restart();
    await waitFor(() => stopConnection(daemon).connects === 2, 'the stop connection to connect again');
    expect(stopConnection(daemon).state).toBe('connected');
  });
});
