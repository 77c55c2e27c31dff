import mqtt, { type MqttClient } from 'mqtt';
import { checkCentralServeText, type CentralServeConfig } from '../../central/config.ts';
import { EVENTS_SCHEMA } from '../../central-link/outbox.ts';
import { duckdbExtension } from '../peers/index.ts';
import type { Cleanup } from '../helpers/cleanups.ts';
import { tempDir } from '../helpers/cli.ts';
import { testCommandKeyFile } from '../helpers/command-key.ts';
import { startBroker, type Broker } from '../helpers/mosquitto.ts';
import { startMinio, type Minio } from '../helpers/minio.ts';
import { startPostgres, type Postgres } from '../helpers/postgres.ts';
import { dirname } from 'node:path';

/** central.yaml for the peers the test started: PostgreSQL (else a DuckDB file in `dir`), MinIO or a local dir. */
export function serveSettings(o: {
  broker: Broker;
  dir: string;
  pg?: Postgres;
  minio?: Minio;
  bucket?: string;
  extra?: string;
}): CentralServeConfig {
  const { broker, dir, pg, minio, bucket = 'fleet' } = o;
  const text = [
    'mqtt:',
    `  url: ${broker.url}`,
    '  fleet: lab',
    // Central signs its commands with the key the test robots pin (central-harness.ts's centralConfig).
    `  command_key: "${testCommandKeyFile(dir)}"`,
    'lakehouse:',
    `  catalog: "${pg ? `postgres:${pg.conninfo}` : `${dir}/fleet.ducklake`}"`,
    `  data_path: "${minio ? `s3://${bucket}/lake/` : `${dir}/lake-data/`}"`,
    `  extension_directory: "${dirname(duckdbExtension('ducklake'))}"`,
    ...(minio
      ? [
          'storage:',
          `  endpoint: ${minio.endpoint}`,
          `  region: ${minio.region}`,
          `  bucket: ${bucket}`,
          `  access_key_id: ${minio.accessKeyId}`,
          `  secret_access_key: ${minio.secretAccessKey}`,
        ]
      : []),
    'http:',
    '  enabled: false',
    o.extra ?? '',
  ].join('\n');
  const { config, issues } = checkCentralServeText(text, {});
  if (!config) throw new Error(`test central.yaml: ${JSON.stringify(issues)}`);
  return config;
}

/** A robot's events payload as the outbox builds it, records first..last (minus `lost`). */
export function eventsPayload(
  robot: string,
  journal: string,
  first: number,
  last: number,
  lost: { from: number; to: number }[] = [],
): string {
  const records = [];
  for (let seq = first; seq <= last; seq++) {
    if (lost.some((l) => seq >= l.from && seq <= l.to)) continue;
    records.push({ seq, ts: String(1_700_000_000_000_000_000n + BigInt(seq)), kind: 'agent_event', data: { n: seq } });
  }
  return JSON.stringify({
    schema: EVENTS_SCHEMA,
    robot,
    fleet: 'lab',
    journal_id: journal,
    first_seq: first,
    last_seq: last,
    ...(lost.length > 0 ? { lost } : {}),
    records,
  });
}

/** An MQTT 5 client that publishes as a robot would. */
export async function robotClient(broker: Broker, id: string): Promise<MqttClient> {
  return mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: id, clean: true, reconnectPeriod: 0 });
}

/** Publishes at QoS 1; resolves with the PUBACK's reason code (0 taken, >= 0x80 refused). */
export function publishQos1(
  client: MqttClient,
  topic: string,
  payload: string,
  retain = false,
  userProperties?: Record<string, string>,
): Promise<number> {
  const properties = userProperties ? { properties: { userProperties } } : {};
  return new Promise((resolve, reject) => {
    client.publish(topic, payload, { qos: 1, retain, ...properties }, (error, packet) => {
      const code = (error as { code?: number } | undefined)?.code;
      if (error && typeof code === 'number') return resolve(code);
      if (error) return reject(error);
      resolve((packet as { reasonCode?: number } | undefined)?.reasonCode ?? 0);
    });
  });
}

/**
 * A whole central's peers, each cleaned up by `cleanups`: mosquitto, PostgreSQL for DuckLake's catalog, MinIO
 * with the bucket `fleet`, a temp dir, and `central serve` settings over them.
 */
export async function startCentralPeers(cleanups: Cleanup[], prefix: string) {
  const broker = await startBroker();
  cleanups.push(() => broker.cleanup());
  const [pg, minio] = await Promise.all([startPostgres(), startMinio()]);
  cleanups.push(
    () => pg.cleanup(),
    () => minio.cleanup(),
  );
  await minio.createBucket('fleet');
  const dir = tempDir(prefix);
  cleanups.push(dir.cleanup);
  return { broker, pg, minio, dir, settings: serveSettings({ broker, pg, minio, dir: dir.path }) };
}
