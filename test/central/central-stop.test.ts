import { describe, expect, it } from 'vitest';
import type { Daemon } from '../../daemon/daemon.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { commandSignature } from '../helpers/command-key.ts';
import { skillIntent } from '../helpers/intents.ts';
import { waitFor, waitForValue } from '../helpers/wait.ts';
import { brokerAndCentral, centralDaemon, PREFIX, sendIntent } from './central-harness.ts';

// Central's stop (`central intent stop`, a stop intent central signed) halts the robot as the link reads it, once its
// signature is checked: before its counter is on disk, its rate and its run, so nothing those wait on holds it back.
// A stop that is not central's (unsigned, or signed by another key) halts nothing.

const cleanups = cleanupStack();

/** The zero Twists on /cmd_vel from now on, counted. */
function zeroTwists(daemon: Daemon): () => number {
  let zeros = 0;
  daemon.bus.subscribe({
    name: 'test',
    topic: '/cmd_vel',
    handler: () => void zeros++, // nothing here drives the robot: every Twist on it is a halt's
  });
  return () => zeros;
}

const details = (daemon: Daemon) =>
  daemon.status().components.central!.details as {
    rate_limited: { intents: number };
    signatures: Record<string, number>;
  };

describe("central's stop", () => {
  it('halts the robot as the link reads it, past the rate too; a stop central did not sign halts nothing', async () => {
    const { broker, central } = await brokerAndCentral(cleanups);
    const started = await centralDaemon(broker.url, {}, { rate_limits: { intents_per_min: 1 } });
    cleanups.push(started.stop);
    const { daemon } = started;
    const zeros = zeroTwists(daemon);
    const ackOf = (id: string) =>
      waitForValue(() => central.acks().find((a) => a.intent_id === id && a.status !== 'pending'), `the ack of ${id}`);

    // Forged: unsigned, and signed with a key that is not central's (a signature of another payload).
    const unsigned = skillIntent('stop', {});
    await central.client.publishAsync(`${PREFIX}/intents`, JSON.stringify(unsigned), { qos: 1 });
    expect(await ackOf(unsigned.intent_id)).toMatchObject({ status: 'refused', error: { code: 'unsigned' } });
    const forged = skillIntent('stop', {});
    const userProperties = commandSignature(`${PREFIX}/intents`, JSON.stringify(skillIntent('stop', {})));
    await central.client.publishAsync(`${PREFIX}/intents`, JSON.stringify(forged), {
      qos: 1,
      properties: { userProperties },
    });
    expect(await ackOf(forged.intent_id)).toMatchObject({ status: 'refused', error: { code: 'bad_signature' } });
    expect(zeros()).toBe(0);

    // Central's: halted as read, then the stop skill's own run halts again.
    const stop = skillIntent('stop', {});
    await sendIntent(central.client, stop);
    expect(await ackOf(stop.intent_id)).toMatchObject({ status: 'accepted' });
    await waitFor(() => zeros() >= 2, 'the halt as read and the stop skill’s');

    // Past the link's rate (1 a minute here): refused, and the robot halted all the same.
    const before = zeros();
    const again = skillIntent('stop', {});
    await sendIntent(central.client, again);
    await waitFor(() => details(daemon).rate_limited.intents === 1, 'the rate to refuse it');
    expect(zeros()).toBe(before + 1);
    expect(details(daemon).signatures).toMatchObject({ verified: 2, unsigned: 1, bad_signature: 1 });
  });
});
