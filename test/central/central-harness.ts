import type { MqttClient } from 'mqtt';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { parseConfigText } from '../../daemon/config/load.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { tempDir } from '../helpers/cli.ts';
import type { JournalRecord } from '../../daemon/contract/services.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { centralClient, startBroker, type Broker, type Received } from '../helpers/mosquitto.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';
import { waitFor } from '../helpers/wait.ts';
import { publishCommand, TEST_COMMAND_KEY } from '../helpers/command-key.ts';

export const FLEET = 'lab';
export const ROBOT = 'tb3-1';
export const PREFIX = `auraison/${FLEET}/${ROBOT}`;

/**
 * The central link's config for a test: short backoffs and heartbeats, so reconnects take no seconds, and the test
 * central's key pinned (a robot takes no command without one), so what tests send as central (publishCommand,
 * sendIntent, the test central) is taken. (startDaemon turns the stop connection off unless a test's motion.stop
 * turns it on.)
 */
export function centralConfig(url: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    enabled: true,
    url,
    command_keys: [TEST_COMMAND_KEY],
    reconnect_min_s: 0.05,
    reconnect_max_s: 0.5,
    heartbeat_s: 0.5,
    keepalive_s: 5,
    intent_ack_timeout_s: 2,
    connect_timeout_s: 2,
    ...extra,
  };
}

/**
 * A daemon with the central link on (no sim, no API, no Foxglove unless `config` says), in a fresh data dir;
 * returned once its link is up and subscribed, unless `online` is false (a broker that is not there).
 */
export async function centralDaemon(
  url: string,
  config: Record<string, unknown> = {},
  central: Record<string, unknown> = {},
  online = true,
) {
  const started = await startDaemon(
    {
      robot: { id: ROBOT, fleet: FLEET },
      api: { enabled: false },
      foxglove: { enabled: false },
      ...config,
      central: centralConfig(url, central),
    },
    'central-',
  );
  if (online) await waitOnline(started.daemon);
  return started;
}

/** Waits until the daemon's central link is connected and subscribed. */
export async function waitOnline(daemon: Daemon): Promise<void> {
  await waitFor(
    () => (daemon.status().components.central?.details as { connected?: boolean } | undefined)?.connected === true,
    'the central link to be online',
  );
}

/**
 * Plays central on the broker: a persistent session subscribed to everything the robot sends, so what it
 * publishes while this client is away waits at the broker.
 */
export async function playCentral(broker: Broker, clientId = 'central-test') {
  const central = await centralClient(
    broker.url,
    [`${PREFIX}/events`, `${PREFIX}/acks`, `${PREFIX}/status`, `${PREFIX}/heartbeat`],
    {
      clientId,
      clean: false,
      properties: { sessionExpiryInterval: 600 },
    },
  );
  return {
    ...central,
    records: () => eventRecords(central.received),
    acks: () =>
      central.received.filter((m) => m.topic === `${PREFIX}/acks`).map((m) => m.json as Record<string, unknown>),
  };
}

/**
 * A broker, central's client on it, and with `proxy` a TCP proxy in front of the broker for the robot (a
 * link that can be cut); what undoes them goes onto `cleanups`.
 */
export async function brokerAndCentral(
  cleanups: (() => Promise<void> | void)[],
  options: { extraConfig?: string; proxy?: boolean } = {},
) {
  const broker = await startBroker(options.extraConfig === undefined ? {} : { extraConfig: options.extraConfig });
  cleanups.push(broker.cleanup);
  let proxy: TcpProxy | undefined;
  if (options.proxy) {
    proxy = await startTcpProxy(broker.port);
    cleanups.push(proxy.close);
  }
  const central = await playCentral(broker);
  cleanups.push(central.end);
  return { broker, central, proxy: proxy as TcpProxy };
}

/** Every journal record central got on the events topic, in arrival order (duplicates kept). */
export function eventRecords(received: Received[]): JournalRecord[] {
  return received
    .filter((m) => m.topic === `${PREFIX}/events`)
    .flatMap((m) => (m.json as { records: JournalRecord[] }).records);
}

/** Sends an intent as central would: QoS 1 on the robot's intents topic, signed with the test key. */
export async function sendIntent(
  client: MqttClient,
  intent: unknown,
  properties: Record<string, unknown> = {},
): Promise<void> {
  const payload = typeof intent === 'string' || Buffer.isBuffer(intent) ? intent : JSON.stringify(intent);
  await publishCommand(client, `${PREFIX}/intents`, payload, { properties });
}

/** Waits until central holds every seq of the robot's journal (dedupes: at least once is allowed). */
export async function waitForJournal(
  daemon: Daemon,
  records: () => JournalRecord[],
  what = 'central to hold the whole journal',
): Promise<Set<number>> {
  let seqs = new Set<number>();
  await waitFor(() => {
    seqs = new Set(records().map((r) => r.seq));
    const last = daemon.journal.lastSeq;
    if (last === 0) return false;
    for (let seq = 1; seq <= last; seq++) if (!seqs.has(seq)) return false;
    return true;
  }, what);
  return seqs;
}

/**
 * A daemon with the central link that can be stopped and started again on the same data dir (a restart):
 * `start()` makes a new Daemon each time. `cleanup()` stops it and removes the dir.
 */
export function restartableDaemon(
  url: string,
  config: Record<string, unknown> = {},
  central: Record<string, unknown> = {},
) {
  const dir = tempDir('central-restart-');
  const parsed = parseConfigText(
    stringify({
      data_dir: './data',
      robot: { id: ROBOT, fleet: FLEET },
      api: { enabled: false },
      foxglove: { enabled: false },
      ...config,
      central: centralConfig(url, central),
    }),
    'edge.yaml',
    {},
  );
  let daemon: Daemon | undefined;
  return {
    dir: dir.path,
    get daemon(): Daemon {
      if (!daemon) throw new Error('not started');
      return daemon;
    },
    async start(online = true): Promise<Daemon> {
      daemon = new Daemon({ config: parsed, log: pino({ level: 'silent' }), cwd: dir.path });
      await daemon.start();
      if (online) await waitOnline(daemon);
      return daemon;
    },
    async stop(): Promise<void> {
      await daemon?.close();
      daemon = undefined;
    },
    async cleanup(): Promise<void> {
      await daemon?.close();
      daemon = undefined;
      dir.cleanup();
    },
  };
}

export { startDaemon };
