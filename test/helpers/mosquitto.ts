import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { closedPort } from './closed-port.ts';
import { tempDir } from './paths.ts';
import { peerMissing } from '../peers/missing.ts';
import { waitFor } from './wait.ts';

/** Where Debian's mosquitto package puts the broker (.ci/run installs it). */
const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => existsSync(p));

/**
 * A real mosquitto broker on a free loopback port, for tests of the central link. `persistence` keeps
 * sessions and retained messages across a broker restart (written at each stop, as mosquitto does).
 * `stop('SIGKILL')` is a broker that dies; `restart()` brings one back on the same port with what it saved.
 */
export interface Broker {
  url: string;
  port: number;
  dir: string;
  stop(signal?: NodeJS.Signals): Promise<void>;
  restart(): Promise<void>;
  cleanup(): Promise<void>;
}

export async function startBroker(
  options: {
    extraConfig?: string;
    /**
     * The listeners' own lines, in place of the one anonymous loopback listener (first in the file, where
     * per_listener_settings must be); `port` is the one `url` names.
     */
    listeners?: (port: number) => string;
  } = {},
): Promise<Broker> {
  if (!MOSQUITTO) peerMissing('mosquitto is not installed: run `sudo apt-get install mosquitto` (.ci/run does)');
  const dir = tempDir('mosquitto-');
  const port = await closedPort();
  const data = join(dir.path, 'data');
  mkdirSync(data);
  const conf = join(dir.path, 'mosquitto.conf');
  // Started as root, mosquitto drops to user mosquitto, which cannot write its persistence file in our
  // temp dir: sessions would then not survive a restart. `user root` keeps it as the user that started it.
  writeFileSync(
    conf,
    [
      ...(options.listeners ? [options.listeners(port)] : [`listener ${port} 127.0.0.1`, 'allow_anonymous true']),
      'persistence true',
      ...(process.getuid?.() === 0 ? ['user root'] : []),
      `persistence_location ${data}/`,
      'log_dest none',
      'max_queued_messages 100000',
      options.extraConfig ?? '',
    ].join('\n'),
  );
  let child: ChildProcess | undefined;
  const launch = async () => {
    child = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<never>((_, reject) =>
      child!.once('exit', (code) => reject(new Error(`mosquitto exited (${code}) at start: ${stderr}`))),
    );
    await Promise.race([listening(port), exited]);
  };
  await launch();
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill(signal);
    });
  };
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    dir: dir.path,
    stop,
    restart: launch,
    cleanup: async () => {
      await stop();
      dir.cleanup();
    },
  };
}

async function listening(port: number): Promise<void> {
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const socket = connect(port, '127.0.0.1');
        socket.once('connect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      }),
    `mosquitto to listen on ${port}`,
    10_000,
  );
}

/** A message a test client got: its topic, its payload as text and JSON (when it is), its packet. */
export interface Received {
  topic: string;
  text: string;
  json: unknown;
  packet: IPublishPacket;
}

/**
 * A test client that plays central: subscribes to `filters` and keeps every message it gets, in order. A
 * persistent session of its own (`clientId`, clean off) keeps what comes while it is away.
 */
export async function centralClient(
  url: string,
  filters: string[],
  options: IClientOptions = {},
): Promise<{ client: MqttClient; received: Received[]; end: () => Promise<void> }> {
  const client = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 200, ...options });
  const received: Received[] = [];
  client.on('message', (topic, payload, packet) => {
    const text = payload.toString();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    received.push({ topic, text, json, packet });
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  if (filters.length > 0) await client.subscribeAsync(filters, { qos: 1 });
  return { client, received, end: () => client.endAsync() };
}
