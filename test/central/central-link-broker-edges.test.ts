import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { publishCommand } from '../helpers/command-key.ts';
import { stringify } from 'yaml';
import { parseConfigText } from '../../daemon/config/load.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { CentralLink } from '../../central-link/index.ts';
import { running } from '../helpers/daemon.ts';
import { DaemonProcess } from '../agent/daemon-process.ts';
import { tempDir } from '../helpers/cli.ts';
import { startBroker } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/wait.ts';
import { skillIntent } from '../helpers/intents.ts';
import {
  brokerAndCentral,
  centralConfig,
  centralDaemon,
  FLEET,
  PREFIX,
  playCentral,
  restartableDaemon,
  ROBOT,
  sendIntent,
  waitForJournal,
  waitOnline,
} from './central-harness.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

const cleanups = cleanupStack();

/** mosquitto's dynamic security plugin (Debian's package puts it under the machine's multiarch folder). */
const DYNAMIC_SECURITY = readdirSync('/usr/lib')
  .map((d) => join('/usr/lib', d, 'mosquitto_dynamic_security.so'))
  .find((p) => existsSync(p));

const centralDetails = (daemon: Daemon) =>
  daemon.status().components.central!.details as { outbox: { inflight: number; backlog: number } };

/**
 * A loopback TCP proxy in front of the broker whose `freeze()` stops what the broker sends from reaching the
 * robot (a broker that hangs: no PUBACK, no PINGRESP), while the robot's socket stays open. `open` counts
 * the robot's sockets still open; `sentWhileFrozen` the bytes the robot sent since the freeze, and
 * `droppedWhileFrozen` those of the broker held back from it.
 */
async function freezableProxy(targetPort: number) {
  const clients = new Set<Socket>();
  let frozen = false;
  let sentWhileFrozen = 0;
  let droppedWhileFrozen = 0;
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    clients.add(client);
    const drop = () => {
      clients.delete(client);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    client.on('data', (chunk: Buffer) => void (frozen && (sentWhileFrozen += chunk.length)));
    upstream.on('data', (chunk: Buffer) => {
      if (!frozen) client.write(chunk);
      else droppedWhileFrozen += chunk.length;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    get open() {
      return clients.size;
    },
    get sentWhileFrozen() {
      return sentWhileFrozen;
    },
    get droppedWhileFrozen() {
      return droppedWhileFrozen;
    },
    freeze: () => void (frozen = true),
    close: () => {
      for (const c of clients) c.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('the central link against a broker that hangs, caps packets, retains intents or takes its session', () => {
  it('closes its socket at stop when the broker acknowledges nothing more (a hung broker)', async () => {
    const broker = await startBroker();
    cleanups.push(broker.cleanup);
    const proxy = await freezableProxy(broker.port);
    cleanups.push(proxy.close);
    // A keep alive longer than the test: only the stop can close the socket.
    const { daemon, stop } = await centralDaemon(proxy.url, {}, { keepalive_s: 600 });
    proxy.freeze();
    await daemon.journal.append('agent_event', { note: 'never acknowledged' });
    await waitFor(() => centralDetails(daemon).outbox.inflight > 0, 'a batch in flight');
    await stop();
    // A socket left open would keep the process from exiting after SIGTERM, and its session alive.
    await waitFor(() => proxy.open === 0, 'the robot to close its socket');
  });

  it('exits on SIGTERM while the broker hangs with messages in flight', async () => {
    const broker = await startBroker();
    cleanups.push(broker.cleanup);
    const proxy = await freezableProxy(broker.port);
    cleanups.push(proxy.close);
    const dir = tempDir('central-sigterm-');
    cleanups.push(dir.cleanup);
    const config = join(dir.path, 'edge.yaml');
    writeFileSync(
      config,
      stringify({
        data_dir: './data',
        log: { level: 'info' },
        robot: { id: ROBOT, fleet: FLEET },
        api: { enabled: false },
        foxglove: { enabled: false },
        central: centralConfig(proxy.url, { keepalive_s: 600 }),
      }),
    );
    const daemon = new DaemonProcess(dir.path, config);
    cleanups.push(() => daemon.kill());
    const central = await playCentral(broker);
    cleanups.push(central.end);
    await waitFor(
      () =>
        central.received.some(
          (m) => m.topic === `${PREFIX}/status` && (m.json as { state: string }).state === 'online',
        ),
      'the robot online',
    );
    proxy.freeze();
    // A heartbeat (QoS 1) went out whose PUBACK never reaches the robot: one sent since, or one whose
    // PUBACK the proxy held back (nothing else comes from the broker: no intents, no PINGRESP).
    await waitFor(() => proxy.sentWhileFrozen > 0 || proxy.droppedWhileFrozen > 0, 'a message in flight');
    daemon.child.kill('SIGTERM');
    await waitFor(() => daemon.child.exitCode !== null, 'the daemon to exit');
    expect(daemon.child.exitCode).toBe(0);
  });

  it("keeps each events batch within the broker's maximum packet size: a larger one was refused with DISCONNECT, and sent again at each reconnect", async () => {
    const { central, daemon } = await brokerCentralRobot({ extraConfig: 'max_packet_size 20000' });
    // Each below the broker's limit, together over it (the default batch_bytes is 256 KiB).
    await Promise.all(
      Array.from({ length: 8 }, (_, i) => daemon.journal.append('agent_event', { i, pad: 'x'.repeat(5000) })),
    );
    await waitForJournal(daemon, central.records);
    expect(Math.max(...central.received.map((m) => m.text.length))).toBeLessThanOrEqual(20000);
  });

  it("does not send an ack over the broker's maximum packet size: the DISCONNECT lost the intent's PUBACK, and the ack came again first at every reconnect", async () => {
    const { central, daemon } = await brokerCentralRobot({ extraConfig: 'max_packet_size 20000' });
    // The intent fits the broker; its ack, the same correlation data and a longer text, does not.
    // Unsigned (this robot pins no key): a signature's user properties would take the intent itself past the limit.
    await central.client.publishAsync(`${PREFIX}/intents`, 'x', {
      qos: 1,
      properties: { responseTopic: 'r', correlationData: Buffer.alloc(19_900) },
    });
    const good = skillIntent('stop', {});
    await sendIntent(central.client, good);
    await waitFor(
      () => central.acks().some((a) => a.intent_id === good.intent_id && a.status === 'accepted'),
      'the next intent accepted',
    );
    expect(metric(daemon, 'auraison_central_ack_failures_total')).toBe(1);
  });

  it('sends a journal that starts below its cursor under a new journal id (the log was deleted, the state kept)', async () => {
    const { broker, central } = await brokerAndCentral(cleanups);
    const robot = restartableDaemon(broker.url);
    cleanups.push(robot.cleanup);
    // Central acknowledged 1000 records of journal-a; the journal is empty now.
    mkdirSync(join(robot.dir, 'data', 'state'), { recursive: true });
    writeFileSync(
      join(robot.dir, 'data', 'state', 'central-outbox.json'),
      JSON.stringify({ journal_id: 'journal-a', acked_seq: 1000 }),
    );
    const daemon = await robot.start();
    await daemon.journal.append('agent_event', { note: 'new' });
    await waitForJournal(daemon, central.records);
    const batches = central.received
      .filter((m) => m.topic === `${PREFIX}/events`)
      .map((m) => m.json as { journal_id: string });
    // Under journal-a, central would take seq 1 for a record it has.
    expect(batches.every((b) => b.journal_id !== 'journal-a')).toBe(true);
    const cursor = JSON.parse(readFileSync(join(robot.dir, 'data', 'state', 'central-outbox.json'), 'utf8')) as {
      journal_id: string;
    };
    expect(cursor.journal_id).toBe(batches[0]!.journal_id);
  });

  it('runs a retained intent at most once: the broker sends it again at every subscription, and refuses one that was retained before', async () => {
    const { broker, central } = await brokerAndCentral(cleanups);
    // Retained before the robot ever subscribed: stale by the time it comes, whenever that is.
    const stale = skillIntent('stop', {});
    await publishCommand(central.client, `${PREFIX}/intents`, JSON.stringify(stale), { retain: true });
    const robot = restartableDaemon(broker.url);
    cleanups.push(robot.cleanup);
    await robot.start();
    await waitFor(() => central.acks().some((a) => a.intent_id === stale.intent_id), 'the stale intent answered');
    expect(central.acks().find((a) => a.intent_id === stale.intent_id)).toMatchObject({
      status: 'refused',
      error: { code: 'retained' },
    });
    // Retained while the robot is subscribed: it comes as any intent, and runs.
    const live = skillIntent('stop', {});
    await publishCommand(central.client, `${PREFIX}/intents`, JSON.stringify(live), { retain: true });
    await waitFor(() => central.acks().some((a) => a.intent_id === live.intent_id), 'the live intent answered');
    expect(central.acks().find((a) => a.intent_id === live.intent_id)!.status).toBe('accepted');
    // A clean stop (its PUBACKs before its DISCONNECT), and the robot subscribes again in its session.
    await robot.stop();
    await robot.start();
    // An intent sent after the subscription: whatever the subscription brings comes before it.
    const after = skillIntent('stop', {});
    await sendIntent(central.client, after);
    await waitFor(() => central.acks().some((a) => a.intent_id === after.intent_id), 'the next intent answered');
    expect(
      central.acks().filter((a) => a.intent_id === live.intent_id || a.intent_id === stale.intent_id),
    ).toHaveLength(2);
  });

  it('backs off when another client with its client id keeps taking its session, instead of taking it back at once each time', async () => {
    const broker = await startBroker();
    cleanups.push(broker.cleanup);
    const { daemon, stop } = await centralDaemon(broker.url);
    cleanups.push(stop);
    const details = () =>
      daemon.status().components.central!.details as { link: string; connects: number; reconnect_delay_ms?: number };
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      const connects = details().connects;
      // A second robot given the same robot.id: the broker hands it the session and drops this one.
      const twin = mqtt.connect(broker.url, {
        protocolVersion: 5,
        clientId: `auraison-edge-${FLEET}-${ROBOT}`,
        clean: false,
        reconnectPeriod: 0,
        properties: { sessionExpiryInterval: 600 },
      });
      cleanups.push(() => void twin.end(true));
      await waitFor(() => details().link !== 'connected', 'the robot dropped');
      delays.push(details().reconnect_delay_ms!);
      // It takes the session back (dropping the twin) once its backoff is over.
      await waitFor(() => details().connects > connects, 'the robot back');
    }
    // reconnect_min_s is 0.05: the third wait is past it, as after three failed tries.
    expect(delays[2]).toBeGreaterThan(50);
  });

  it('is degraded, saying why, while the broker refuses its intents subscription', async () => {
    // mosquitto's acl_file never refuses a SUBSCRIBE; its dynamic security plugin does (0x87).
    const dir = tempDir('central-acl-');
    cleanups.push(dir.cleanup);
    const broker = await startBroker({
      extraConfig: dynamicSecurity(dir.path, [
        { acltype: 'subscribeLiteral', topic: `${PREFIX}/intents`, priority: 0, allow: false },
      ]),
    });
    cleanups.push(broker.cleanup);
    const { daemon, stop } = await centralDaemon(broker.url);
    cleanups.push(stop);
    // Connected, events and heartbeats go up; no intent from central can reach the robot.
    const health = daemon.status().components.central!;
    expect(health.state).toBe('degraded');
    expect(health.reason).toMatch(/intents.*Not authorized/);
  });

  it('logs acks it cannot publish at a bounded rate: central sets how many come', async () => {
    // The broker's ACL keeps the robot off its acks topic.
    const dir = tempDir('central-ackflood-');
    cleanups.push(dir.cleanup);
    const broker = await startBroker({
      extraConfig: dynamicSecurity(dir.path, [
        { acltype: 'publishClientSend', topic: `${PREFIX}/acks`, priority: 0, allow: false },
      ]),
    });
    cleanups.push(broker.cleanup);
    const central = await playCentral(broker);
    cleanups.push(central.end);
    const lines: { msg: string }[] = [];
    const log = pino(
      { level: 'warn' },
      { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) },
    );
    const config = parseConfigText(
      stringify({
        data_dir: './data',
        robot: { id: ROBOT, fleet: FLEET },
        api: { enabled: false },
        foxglove: { enabled: false },
        central: centralConfig(broker.url),
      }),
      'edge.yaml',
      {},
    );
    const daemon = new Daemon({ config, log, cwd: dir.path });
    cleanups.push(() => daemon.close());
    await daemon.start();
    await waitOnline(daemon);
    for (let i = 0; i < 20; i++) await sendIntent(central.client, 'not json');
    await waitFor(() => metric(daemon, 'auraison_central_ack_failures_total') === 20, 'twenty acks refused');
    expect(lines.filter((l) => /ack could not be published/.test(l.msg)).length).toBeLessThanOrEqual(5);
  });
});

describe('the central link against a broker that takes messages and acknowledges none', () => {
  it('keeps one heartbeat in flight, not one more each period for as long as the link holds', async () => {
    const broker = await startBroker();
    cleanups.push(broker.cleanup);
    const proxy = await freezableProxy(broker.port);
    cleanups.push(proxy.close);
    const central = await playCentral(broker);
    cleanups.push(central.end);
    const { daemon, stop } = await centralDaemon(proxy.url, {}, { keepalive_s: 600 });
    cleanups.push(stop);
    await waitFor(() => central.received.some((m) => m.topic === `${PREFIX}/heartbeat`), 'a heartbeat');
    const beat = Math.max(
      ...central.received.filter((m) => m.topic === `${PREFIX}/heartbeat`).map((m) => m.text.length),
    );
    proxy.freeze();
    // Every heartbeat period from now on finds the one before still waiting for its PUBACK.
    await waitFor(() => (metric(daemon, 'auraison_central_heartbeats_skipped_total') ?? 0) >= 3, 'heartbeats skipped');
    expect(proxy.sentWhileFrozen).toBeLessThan(2 * beat);
  });
});

/** A mosquitto, central on it (playCentral) and a robot online there; all undone after the test. */
async function brokerCentralRobot(broker: { extraConfig?: string } = {}) {
  const b = await startBroker(broker);
  cleanups.push(b.cleanup);
  const central = await playCentral(b);
  cleanups.push(central.end);
  const { daemon, stop } = await centralDaemon(b.url);
  cleanups.push(stop);
  return { central, daemon };
}

/** mosquitto's config for its dynamic security plugin with `acls` for every (anonymous) client; files in `dir`. */
function dynamicSecurity(dir: string, acls: Record<string, unknown>[]): string {
  if (!DYNAMIC_SECURITY)
    throw new Error("mosquitto's dynamic security plugin is not there: Debian's mosquitto package installs it");
  const file = join(dir, 'dynamic-security.json');
  const access = { publishClientSend: true, publishClientReceive: true, subscribe: true, unsubscribe: true };
  writeFileSync(
    file,
    JSON.stringify({
      defaultACLAccess: access,
      clients: [],
      groups: [{ groupname: 'robots', roles: [{ rolename: 'robot' }] }],
      roles: [{ rolename: 'robot', acls }],
      anonymousGroup: 'robots',
    }),
  );
  return `plugin ${DYNAMIC_SECURITY}\nplugin_opt_config_file ${file}`;
}

function metric(daemon: Daemon, name: string): number | undefined {
  const metrics = running(daemon, CentralLink)!.metrics();
  return metrics.find((m) => m.name === name)?.samples[0]?.value;
}
