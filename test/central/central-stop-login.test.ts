import mqtt from 'mqtt';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Daemon } from '../../daemon/daemon.ts';
import { publishQos1 as puback } from '../central-serve/fixtures.ts';
import { blockThisLoopUntil } from '../helpers/blocked-loop.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { publishCommand } from '../helpers/command-key.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { skillIntent } from '../helpers/intents.ts';
import { centralClient } from '../helpers/mosquitto.ts';
import { waitFor, waitForValue } from '../helpers/wait.ts';
import { centralConfig, FLEET, PREFIX, ROBOT, waitOnline } from './central-harness.ts';
import { labBroker } from './lab-broker.ts';
import { publishFromThread, signedStop } from './stop-publisher.ts';
import { HaltLine } from '../../daemon/halt/index.ts';

// Central's stop on the broker `central acl` sets up, with nothing in the robot's config about it: the stop connection
// logs in as the robot's stop login (<robot id>/intents, the robot's password), which reads that robot's intents alone,
// publishes nothing, and holds a client id of its own. A broker set up before stop logins refuses it; the link is
// untouched and status says what to do.

const cleanups = cleanupStack();
const INTENTS = `${PREFIX}/intents`;
const OTHER = `auraison/${FLEET}/tb3-2`;

type StopStatus = { state?: string; login?: string; connects?: number; last_error?: string };
const stopConnection = (daemon: Daemon) =>
  (daemon.status().components.central!.details as { stop_connection: StopStatus }).stop_connection;
const linkConnects = (daemon: Daemon) => (daemon.status().components.central!.details as { connects: number }).connects;

/** A daemon of tb3-1 on the lab broker with its login and the config's defaults, its warnings kept in `warnings`. */
async function robot(url: string, login: { username: string; password: string }) {
  const central = centralConfig(url, login);
  const warnings: { msg: string }[] = [];
  const log = pino(
    { level: 'warn' },
    { write: (line: string) => void warnings.push(JSON.parse(line) as { msg: string }) },
  );
  const started = await startDaemon(
    {
      robot: { id: ROBOT, fleet: FLEET },
      api: { enabled: false },
      foxglove: { enabled: false },
      central,
      // The config's own default, not startDaemon's (which turns the stop connection off).
      motion: { stop: { central_connection: true } },
    },
    'central-stop-login-',
    undefined,
    log,
  );
  cleanups.push(started.stop);
  await waitOnline(started.daemon);
  return { ...started, warnings };
}

/** A connection with `login` and `clientId`: the CONNACK's reason code (on a broker that lets it, a session taken). */
async function connectCode(url: string, login: { username: string; password: string }, clientId: string) {
  const client = mqtt.connect(url, { protocolVersion: 5, clientId, reconnectPeriod: 0, ...login });
  const code = await new Promise<number>((resolve) => {
    client.once('connect', (connack) => resolve(connack.reasonCode ?? 0));
    client.once('error', (error) => resolve((error as { code?: number }).code ?? -1));
  });
  await client.endAsync(true);
  return code;
}

describe("central's stop on `central acl`'s broker", () => {
  it("comes through the robot's stop login by default while the event loop is blocked, and takes no session of the link's", async () => {
    const { broker, centralUrl, login } = await labBroker(cleanups, { listeners: true });
    const { daemon } = await robot(broker.url, login(ROBOT));
    await waitFor(() => stopConnection(daemon).state === 'connected', 'the stop connection to be up');
    expect(stopConnection(daemon)).toMatchObject({ login: 'tb3-1/intents', connects: 1 });
    const central = await centralClient(centralUrl, [`${PREFIX}/acks`], { ...login('central'), clientId: 'central' });
    cleanups.push(central.end);

    const line = new HaltLine(daemon.haltAuthority.haltLine);
    const stop = signedStop(INTENTS);
    const stopsBefore = line.stops;
    const published = publishFromThread(cleanups, {
      url: centralUrl,
      login: login('central'),
      topic: INTENTS,
      messages: [stop],
    });
    expect(blockThisLoopUntil(() => line.stops > stopsBefore, 20_000)).toBe(true);
    expect(line.pending).toBe(1);
    blockThisLoopUntil(() => published() !== undefined, 10_000);
    expect(published()).toBe('published');
    const ack = await waitForValue(
      () =>
        central.received.find(
          (m) =>
            (m.json as { intent_id?: string }).intent_id === stop.id &&
            (m.json as { status?: string }).status !== 'pending',
        ),
      "the link's ack of the stop",
    );
    expect(ack.json).toMatchObject({ status: 'accepted' });
    await waitFor(() => line.pending === 0, 'the main thread to take the mark');

    // The stop login under the link's client ids (the one it asks for, the one the broker gives it): the broker makes
    // its client id its username, so it displaces the stop connection at most, never the link.
    for (const clientId of [ROBOT, `auraison-edge-${FLEET}-${ROBOT}`])
      expect(await connectCode(broker.url, login('tb3-1/intents'), clientId)).toBe(0);
    // Its state can still read `connected` before the daemon hears it was displaced: wait for the reconnect itself.
    await waitFor(
      () => stopConnection(daemon).state === 'connected' && (stopConnection(daemon).connects ?? 0) > 1,
      'the stop connection back',
    );
    expect(linkConnects(daemon)).toBe(1);
    expect(daemon.status().components.central!.state).toBe('running');
  });

  it("lets another robot's stop login read none of this robot's intents, and publish nothing anywhere", async () => {
    const { broker, centralUrl, login } = await labBroker(cleanups, { listeners: true });
    // tb3-2's stop login, as a robot under an attacker's hand would use it, on everything it might be sent.
    const attacker = await centralClient(broker.url, [INTENTS, `auraison/${FLEET}/+/intents`, '#'], {
      ...login('tb3-2/intents'),
      clientId: 'tb3-2/intents',
    });
    cleanups.push(attacker.end);
    const central = await centralClient(centralUrl, [], { ...login('central'), clientId: 'central' });
    cleanups.push(central.end);
    // tb3-1's first, then tb3-2's: the broker sends a reader its messages in order, so once tb3-2's is here, tb3-1's
    // would have come before it.
    await publishCommand(central.client, INTENTS, JSON.stringify(skillIntent('stop', {})));
    await publishCommand(central.client, `${OTHER}/intents`, JSON.stringify(skillIntent('stop', {})));
    await waitFor(() => attacker.received.length > 0, "tb3-2's own intent");
    expect([...new Set(attacker.received.map((m) => m.topic))]).toEqual([`${OTHER}/intents`]);

    // Every topic it might write: tb3-1's and its own robot's, and those the robots' patterns would give a login
    // named <robot>/intents (<...>/tb3-2/intents/events).
    const topics = [
      INTENTS,
      `${PREFIX}/events`,
      `${PREFIX}/acks`,
      `${OTHER}/intents`,
      `${OTHER}/events`,
      `${OTHER}/heartbeat`,
      `${OTHER}/status`,
      `${OTHER}/intents/events`,
      `${OTHER}/intents/acks/x`,
      `auraison/${FLEET}/tb3-2`,
      'elsewhere',
    ];
    for (const topic of topics) expect([topic, await puback(attacker.client, topic, '{}')]).toEqual([topic, 0x87]);
    // Not a broker that refuses everything: tb3-2's own login writes its heartbeat.
    const tb32 = await centralClient(broker.url, [], { ...login('tb3-2'), clientId: 'tb3-2' });
    cleanups.push(tb32.end);
    expect(await puback(tb32.client, `${OTHER}/heartbeat`, '{}')).toBe(0);
  });

  it('leaves the link whole on a broker set up before stop logins, and says in status what to do, once in the log', async () => {
    const { broker, centralUrl, login, brokerLog } = await labBroker(cleanups, { listeners: true, stopLogins: false });
    const { daemon, warnings } = await robot(broker.url, login(ROBOT));
    const refusal = await waitForValue(() => stopConnection(daemon).last_error, "the stop connection's refusal");
    expect(refusal).toMatch(
      /^the broker refused the stop login tb3-1\/intents \(Connection refused: Not authorized\): on the broker, run `auraison-edge central acl` again and add the login with this robot's password \(mosquitto_passwd <password file> tb3-1\/intents\)/,
    );
    // Refused again and again (the test's backoff is short), said once.
    await waitFor(() => (brokerLog().match(/Sending CONNACK to \S+ \(0, 135\)/g) ?? []).length >= 4, 'four refusals');
    expect(warnings.filter((w) => /stop connection/.test(w.msg))).toHaveLength(1);

    // The link: connected once, running, and central's stop reaches it.
    const central = await centralClient(centralUrl, [`${PREFIX}/acks`], { ...login('central'), clientId: 'central' });
    cleanups.push(central.end);
    const intent = skillIntent('stop', {});
    await publishCommand(central.client, INTENTS, JSON.stringify(intent));
    const ack = await waitForValue(
      () =>
        central.received.find(
          (m) =>
            (m.json as { intent_id?: string }).intent_id === intent.intent_id &&
            (m.json as { status?: string }).status !== 'pending',
        ),
      "the link's ack of the stop",
    );
    expect(ack.json).toMatchObject({ status: 'accepted' });
    expect(linkConnects(daemon)).toBe(1);
    expect(daemon.status().components.central!.state).toBe('running');
    expect(stopConnection(daemon).state).not.toBe('connected');
  });
});
