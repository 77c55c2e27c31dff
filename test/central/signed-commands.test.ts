import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CommandSigner } from '../../central/command-signer.ts';
import { commandCounterPath } from '../../central-link/command-signature-counter.ts';
import type { Daemon } from '../../daemon/daemon.ts';
import { PORTS } from '../../daemon/contract/index.ts';
import { formatStatus } from '../../daemon/cli/commands/status.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { running } from '../helpers/daemon.ts';
import { CentralLink } from '../../central-link/index.ts';
import { commandSignature, publishCommand, TEST_COMMAND_KEY, testKey } from '../helpers/command-key.ts';
import { skillIntent } from '../helpers/intents.ts';
import { centralClient } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/wait.ts';
import { centralDaemon, FLEET, PREFIX, restartableDaemon, ROBOT } from './central-harness.ts';
import { labBroker as lab } from './lab-broker.ts';

/**
 * Central signs what it sends a robot, and the robot obeys only that: the broker is set up as a lab would
 * (a password per robot and one for central, no ACL), and the attacker holds another robot's login (tb3-2).
 * Unsigned, wrongly signed, replayed and re-addressed commands are refused before they act, acked with the
 * reason, and counted in the link's status and metrics.
 */
describe('signed commands from central', () => {
  const cleanups = cleanupStack();

  /** mosquitto with a password file: central, tb3-1 and tb3-2 each with a login; anonymous refused; no ACL. */
  async function labBroker() {
    const { broker, login } = await lab(cleanups, { acl: false });
    const central = await centralClient(broker.url, [`${PREFIX}/acks`], { ...login('central'), clientId: 'central' });
    cleanups.push(central.end);
    const attacker = await centralClient(broker.url, [], { ...login('tb3-2'), clientId: 'tb3-2-attacker' });
    cleanups.push(attacker.end);
    const acks = () => central.received.map((m) => m.json as Record<string, unknown>);
    // The outcome's ack: on a loaded machine a `pending` one (intent_ack_timeout_s passed) comes before it.
    const ackOf = async (id: string) => {
      const outcome = (a: Record<string, unknown>) =>
        (a.intent_id === id || a.config_id === id) && a.status !== 'pending';
      await waitFor(() => acks().some(outcome), `the ack of ${id}`);
      return acks().find(outcome)!;
    };
    return { broker, central, attacker, acks, ackOf, robotLogin: login(ROBOT) };
  }

  const signatures = (daemon: Daemon) =>
    (daemon.status().components.central!.details as { signatures: Record<string, number> }).signatures;

  it('refuses and counts unsigned and wrongly signed intents and configs; the local stop still works', async () => {
    const { broker, central, attacker, ackOf, robotLogin } = await labBroker();
    const started = await centralDaemon(
      broker.url,
      { api: { enabled: true, port: 0 } },
      { ...robotLogin, command_keys: [TEST_COMMAND_KEY] },
    );
    cleanups.push(started.stop);
    const { daemon } = started;
    const other = new CommandSigner({ key: generateKeyPairSync('ed25519').privateKey });

    const unsigned = skillIntent('stop', {});
    await attacker.client.publishAsync(`${PREFIX}/intents`, JSON.stringify(unsigned), { qos: 1 });
    const forged = skillIntent('stop', {});
    const forgedText = JSON.stringify(forged);
    await attacker.client.publishAsync(`${PREFIX}/intents`, forgedText, {
      qos: 1,
      properties: { userProperties: commandSignature(`${PREFIX}/intents`, forgedText, other) },
    });
    const config = JSON.stringify({ config_id: 'forged-1', config: { log: { level: 'debug' } } });
    await attacker.client.publishAsync(`${PREFIX}/config`, config, { qos: 1 });

    expect(await ackOf(unsigned.intent_id)).toMatchObject({ status: 'refused', error: { code: 'unsigned' } });
    expect(await ackOf(forged.intent_id)).toMatchObject({ status: 'refused', error: { code: 'bad_signature' } });
    expect(await ackOf('forged-1')).toMatchObject({ kind: 'config', status: 'refused', error: { code: 'unsigned' } });
    expect(signatures(daemon)).toMatchObject({ unsigned: 2, bad_signature: 1, verified: 0 });
    expect(daemon.config.log.level).not.toBe('debug');
    expect(daemon.status().components.central!.reason).toMatch(
      /^3 command\(s\) from the link refused \(unsigned 2, bad_signature 1\), the last at /,
    );

    // Central's own, signed: taken.
    const genuine = skillIntent('stop', {});
    await publishCommand(central.client, `${PREFIX}/intents`, JSON.stringify(genuine));
    expect(await ackOf(genuine.intent_id)).toMatchObject({ status: 'accepted' });
    expect(signatures(daemon).verified).toBe(1);

    const central_ = running(daemon, CentralLink)!;
    const family = central_.metrics().find((m) => m.name === 'auraison_central_command_signatures_total')!;
    expect(family.samples).toEqual(
      expect.arrayContaining([
        { labels: { outcome: 'unsigned' }, value: 2 },
        { labels: { outcome: 'bad_signature' }, value: 1 },
        { labels: { outcome: 'verified' }, value: 1 },
      ]),
    );

    // The operator's stop does not come over the link: nothing here stands in its way.
    const res = await fetch(`${daemon.ports.get(PORTS.api)!.url}/stop`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ by: 'operator' }),
    });
    expect(res.status).toBe(200);
  });

  it("refuses a replayed command, and tb3-2's genuine command re-published on tb3-1's topics", async () => {
    const { broker, central, attacker, ackOf, robotLogin } = await labBroker();
    const started = await centralDaemon(broker.url, {}, { ...robotLogin, command_keys: [TEST_COMMAND_KEY] });
    cleanups.push(started.stop);
    const { daemon } = started;

    const intent = skillIntent('stop', {});
    const text = JSON.stringify(intent);
    const userProperties = commandSignature(`${PREFIX}/intents`, text);
    await central.client.publishAsync(`${PREFIX}/intents`, text, { qos: 1, properties: { userProperties } });
    expect(await ackOf(intent.intent_id)).toMatchObject({ status: 'accepted' });
    central.received.length = 0;
    // The attacker saw it go by (no ACL) and sends it again, byte for byte.
    await attacker.client.publishAsync(`${PREFIX}/intents`, text, { qos: 1, properties: { userProperties } });
    expect(await ackOf(intent.intent_id)).toMatchObject({ status: 'refused', error: { code: 'replayed' } });

    // Central's intent for tb3-2, on tb3-1's intents topic; and tb3-1's intent on its config topic.
    const forOther = skillIntent('stop', {});
    const otherText = JSON.stringify(forOther);
    await attacker.client.publishAsync(`${PREFIX}/intents`, otherText, {
      qos: 1,
      properties: { userProperties: commandSignature(`auraison/${FLEET}/tb3-2/intents`, otherText) },
    });
    expect(await ackOf(forOther.intent_id)).toMatchObject({ status: 'refused', error: { code: 'wrong_robot' } });
    const config = JSON.stringify({ config_id: 'moved-1', config: { log: { level: 'debug' } } });
    await attacker.client.publishAsync(`${PREFIX}/config`, config, {
      qos: 1,
      properties: { userProperties: commandSignature(`${PREFIX}/intents`, config) },
    });
    expect(await ackOf('moved-1')).toMatchObject({ status: 'refused', error: { code: 'wrong_topic' } });
    expect(signatures(daemon)).toMatchObject({ verified: 1, replayed: 1, wrong_robot: 1, wrong_topic: 1 });
  });

  it('takes a higher counter after a restart and refuses a replay of one taken before it', async () => {
    const { broker, central, attacker, ackOf, robotLogin } = await labBroker();
    const robot = restartableDaemon(broker.url, {}, { ...robotLogin, command_keys: [TEST_COMMAND_KEY] });
    cleanups.push(robot.cleanup);
    await robot.start();
    const before = skillIntent('stop', {});
    const text = JSON.stringify(before);
    const userProperties = commandSignature(`${PREFIX}/intents`, text);
    await central.client.publishAsync(`${PREFIX}/intents`, text, { qos: 1, properties: { userProperties } });
    expect(await ackOf(before.intent_id)).toMatchObject({ status: 'accepted' });
    expect(existsSync(commandCounterPath(join(robot.dir, 'data')))).toBe(true);

    await robot.stop();
    await robot.start();
    central.received.length = 0;
    await attacker.client.publishAsync(`${PREFIX}/intents`, text, { qos: 1, properties: { userProperties } });
    expect(await ackOf(before.intent_id)).toMatchObject({ status: 'refused', error: { code: 'replayed' } });
    const after = skillIntent('stop', {});
    await publishCommand(central.client, `${PREFIX}/intents`, JSON.stringify(after));
    expect(await ackOf(after.intent_id)).toMatchObject({ status: 'accepted' });
    expect(signatures(robot.daemon)).toMatchObject({ replayed: 1, verified: 1 });
  });

  it('takes a command a little older than the newest (another signer), once; refuses one older than the window', async () => {
    const { broker, central, ackOf, robotLogin } = await labBroker();
    const started = await centralDaemon(broker.url, {}, { ...robotLogin, command_keys: [TEST_COMMAND_KEY] });
    cleanups.push(started.stop);
    // central serve and central intent sign apart, with the same key: their commands may cross on the way.
    const behind = (ms: number) => new CommandSigner({ key: testKey, now: () => Date.now() - ms });
    const send = async (signer: CommandSigner | undefined) => {
      const intent = skillIntent('stop', {});
      const text = JSON.stringify(intent);
      await central.client.publishAsync(`${PREFIX}/intents`, text, {
        qos: 1,
        properties: { userProperties: commandSignature(`${PREFIX}/intents`, text, signer) },
      });
      return ackOf(intent.intent_id);
    };
    expect(await send(undefined)).toMatchObject({ status: 'accepted' });
    expect(await send(behind(30_000))).toMatchObject({ status: 'accepted' });
    expect(await send(behind(120_000))).toMatchObject({ status: 'refused', error: { code: 'replayed' } });
  });

  it("does not start the link on a counter file it cannot read, or a private key given as central's public key, naming it", async () => {
    const { broker, robotLogin } = await labBroker();
    const robot = restartableDaemon(broker.url, {}, { ...robotLogin, command_keys: [TEST_COMMAND_KEY] });
    cleanups.push(robot.cleanup);
    const path = commandCounterPath(join(robot.dir, 'data'));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, '{"floor": 12');
    const daemon = await robot.start(false);
    const central = daemon.status().components.central!;
    expect(central.state).toBe('failed');
    expect(central.reason).toContain(`${path}: the counters of central's commands cannot be read (not JSON`);

    // Central's private key pasted where its public key goes: named, and the link does not start.
    const pem = testKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const misconfigured = restartableDaemon(broker.url, {}, { ...robotLogin, command_keys: [TEST_COMMAND_KEY, pem] });
    cleanups.push(misconfigured.cleanup);
    const other = (await misconfigured.start(false)).status().components.central!;
    expect(other.state).toBe('failed');
    expect(other.reason).toContain("central.command_keys.1: this is central's private key");
  });

  it("refuses every command, central's signed ones too, on a robot that pins no key, and says what to do", async () => {
    const { broker, central, attacker, ackOf, robotLogin } = await labBroker();
    const started = await centralDaemon(broker.url, {}, { ...robotLogin, command_keys: [] });
    cleanups.push(started.stop);
    const { daemon } = started;
    // Said at start, before any command came: central cannot command this robot.
    const before = daemon.status().components.central!;
    expect(before.state).toBe('degraded');
    expect(before.reason).toContain("commands from central are refused: no key of central's is pinned");
    expect(before.reason).toContain('auraison-edge central keygen');
    expect(before.reason).toContain('central.command_keys');

    const forged = skillIntent('stop', {});
    await attacker.client.publishAsync(`${PREFIX}/intents`, JSON.stringify(forged), { qos: 1 });
    const genuine = skillIntent('stop', {});
    await publishCommand(central.client, `${PREFIX}/intents`, JSON.stringify(genuine));
    for (const intent of [forged, genuine])
      expect(await ackOf(intent.intent_id)).toMatchObject({ status: 'refused', error: { code: 'no_key' } });
    expect(signatures(daemon)).toMatchObject({ no_key: 2, unchecked: 0, verified: 0 });
    const status = formatStatus(daemon.status(), 'test');
    expect(status).toMatch(
      /central +degraded at \S+: commands from central are refused: no key of central's is pinned/,
    );
    expect(status).toContain('2 command(s) from the link refused (no_key 2)');
  });

  it("takes unsigned commands only by the file's explicit opt-out, and says so in status every time", async () => {
    const { broker, attacker, ackOf, robotLogin } = await labBroker();
    const started = await centralDaemon(
      broker.url,
      {},
      { ...robotLogin, command_keys: [], require_signed_commands: false },
    );
    cleanups.push(started.stop);
    const intent = skillIntent('stop', {});
    await attacker.client.publishAsync(`${PREFIX}/intents`, JSON.stringify(intent), { qos: 1 });
    expect(await ackOf(intent.intent_id)).toMatchObject({ status: 'accepted' });
    expect(signatures(started.daemon)).toMatchObject({ unchecked: 1, unsigned: 0, no_key: 0 });
    const central = started.daemon.status().components.central!;
    expect(central.state).toBe('running');
    expect(central.reason).toMatch(/^UNCHECKED: every command from the link is taken without a signature/);
  });
});
