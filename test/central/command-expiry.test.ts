import { describe, expect, it } from 'vitest';
import type { Daemon } from '../../daemon/daemon.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { runCli, tempDir } from '../helpers/cli.ts';
import { commandSignature, testCommandKeyFile, testSigner } from '../helpers/command-key.ts';
import { skillIntent } from '../helpers/intents.ts';
import { centralClient, startBroker } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/wait.ts';
import { FLEET, PREFIX, restartableDaemon, ROBOT } from './central-harness.ts';

/**
 * A command for a robot that is offline must not act when the robot comes back after the command's time: central
 * gives it an MQTT 5 message expiry (the broker drops it) and signs the same expiry (the robot refuses it by its
 * own clock, for a broker that keeps it anyway and for a replay of a copy).
 */
describe('commands expire', () => {
  const cleanups = cleanupStack();

  const details = (daemon: Daemon) =>
    daemon.status().components.central!.details as {
      signatures: Record<string, number>;
      intents: Record<string, number>;
      refused: { signature: Record<string, number>; total: number };
    };

  /** Waits until the wall clock is past `atMs`: what expired by then has expired by every clock here. */
  async function until(atMs: number): Promise<void> {
    await waitFor(() => Date.now() > atMs, `the wall clock past ${atMs}`, Math.max(0, atMs - Date.now()) + 20_000);
  }

  it(
    'an intent sent with central intent to a robot stopped past its expiry never runs when it is back',
    {
      timeout: 180_000,
    },
    async () => {
      const broker = await startBroker();
      cleanups.push(broker.cleanup);
      const dir = tempDir('command-expiry-');
      cleanups.push(dir.cleanup);
      const key = testCommandKeyFile(dir.path);
      const robot = restartableDaemon(broker.url);
      cleanups.push(robot.cleanup);
      await robot.start();
      await robot.stop(); // its session stays at the broker, subscribed: what is sent now is queued for it

      const send = (...args: string[]) =>
        runCli([
          'central',
          'intent',
          '--robot',
          ROBOT,
          '--broker',
          broker.url,
          '--fleet',
          FLEET,
          '--command-key',
          key,
          ...args,
        ]);
      const stale = await send('stop', '--expiry-s', '2', '--timeout-s', '1');
      expect(stale.code).toBe(1);
      const queued =
        /robot tb3-1 is offline.*: the intent \S+ is queued at the broker until (\d{4}-\d\d-\d\dT[0-9:.]+Z) \(--expiry-s 2\); if tb3-1 is not back by then it is dropped and never acts/.exec(
          stale.stderr,
        );
      expect(queued, stale.stderr).not.toBeNull();
      // The broker counts the expiry from when it took the message, a moment after the time said: a second more.
      await until(Date.parse(queued![1]!) + 1000);

      const daemon = await robot.start();
      // Sent after the stale one on the same topic: the broker would hand the stale one over first.
      const fresh = await send('stop', '--timeout-s', '30');
      expect(fresh.code, fresh.stdout + fresh.stderr).toBe(0);
      expect(fresh.stdout).toMatch(/ack accepted/);
      expect(details(daemon).intents.accepted).toBe(1);
      // The broker dropped it (its MQTT 5 message expiry): the robot's own check had nothing to refuse.
      expect(details(daemon).signatures.expired).toBe(0);
    },
  );

  it(
    'refuses as expired what a broker kept past its expiry, and a replay of it; an expiry changed is forged',
    {
      timeout: 180_000,
    },
    async () => {
      const broker = await startBroker();
      cleanups.push(broker.cleanup);
      const topic = `${PREFIX}/intents`;
      // Central's client, reading the acks; and a login that sees the intents go by (no ACL on this broker).
      const central = await centralClient(broker.url, [`${PREFIX}/acks`], { clientId: 'central' });
      cleanups.push(central.end);
      const eavesdropper = await centralClient(broker.url, [topic], { clientId: 'eavesdropper' });
      cleanups.push(eavesdropper.end);
      const ackOf = async (id: string, n = 1) => {
        const acks = () =>
          central.received.map((m) => m.json as Record<string, unknown>).filter((a) => a.intent_id === id);
        await waitFor(() => acks().length >= n, `ack ${n} of ${id}`);
        return acks()[n - 1]!;
      };
      const robot = restartableDaemon(broker.url);
      cleanups.push(robot.cleanup);
      await robot.start();
      await robot.stop();

      const intent = skillIntent('stop', {});
      const text = JSON.stringify(intent);
      const userProperties = testSigner.sign({ fleet: FLEET, robot: ROBOT, topic: 'intents' }, text, 1);
      const signedAt = Date.now();
      // No MQTT message expiry: as a broker that ignores it (or a bridge that drops it) keeps the message.
      await central.client.publishAsync(topic, text, { qos: 1, properties: { userProperties } });
      await waitFor(() => eavesdropper.received.length === 1, 'the eavesdropper to see the intent');
      const seen = eavesdropper.received[0]!;
      await until(signedAt + 1000);

      const daemon = await robot.start();
      const held = await ackOf(intent.intent_id);
      expect(held).toMatchObject({ status: 'refused', error: { code: 'expired' } });
      expect(String((held.error as { message: string }).message)).toMatch(
        /expired [0-9.]+ s ago by this robot's clock .*central signed it at .* to expire at .*nothing was done.*timedatectl/,
      );

      // The copy replayed, byte for byte and with its properties.
      await eavesdropper.client.publishAsync(topic, seen.text, {
        qos: 1,
        properties: { userProperties: seen.packet.properties!.userProperties as Record<string, string> },
      });
      expect(await ackOf(intent.intent_id, 2)).toMatchObject({ status: 'refused', error: { code: 'expired' } });

      // No attack: the link says what expired commands mean.
      expect(daemon.status().components.central!.reason).toMatch(
        /2 command\(s\) from the link refused \(expired 2\), the last at .*: commands kept past their expiry while this robot was offline/,
      );

      // The copy with its expiry moved a day on: the signature covers it.
      const extended = { ...userProperties, 'auraison-expires': String(BigInt(Date.now() + 86_400_000) * 1000n) };
      await eavesdropper.client.publishAsync(topic, seen.text, { qos: 1, properties: { userProperties: extended } });
      expect(await ackOf(intent.intent_id, 3)).toMatchObject({ status: 'refused', error: { code: 'bad_signature' } });

      // A command signed without an expiry, given one after: not central's either.
      const fresh = skillIntent('stop', {});
      const freshText = JSON.stringify(fresh);
      const added = { ...commandSignature(topic, freshText), 'auraison-expires': String(BigInt(Date.now()) * 1000n) };
      await eavesdropper.client.publishAsync(topic, freshText, { qos: 1, properties: { userProperties: added } });
      expect(await ackOf(fresh.intent_id)).toMatchObject({ status: 'refused', error: { code: 'bad_signature' } });

      const { signatures, intents, refused } = details(daemon);
      expect(signatures).toMatchObject({ expired: 2, bad_signature: 2, verified: 0 });
      expect(refused.signature.expired).toBe(2);
      expect(intents.accepted).toBe(0);
    },
  );
});
