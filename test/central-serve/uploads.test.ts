import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import type { MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../daemon/log.ts';
import { startCentralServe, type CentralServe } from '../../central/serve.ts';
import { UPLOADS_SCHEMA, type GrantsMessage, type Offer, type SingleGrant } from '../../central-link/sync-protocol.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { tempDir } from '../helpers/cli.ts';
import { startBroker } from '../helpers/mosquitto.ts';
import { startMinio } from '../helpers/minio.ts';
import { startPostgres } from '../helpers/postgres.ts';
import { waitFor } from '../helpers/wait.ts';
import { eventsPayload, publishQos1, robotClient, serveSettings } from './fixtures.ts';

const cleanups = cleanupStack(afterAll);

/** A robot's side of bulk sync, by hand: offers, the grants it gets, PUT, complete. */
class Robot {
  readonly got: GrantsMessage[] = [];
  constructor(
    readonly client: MqttClient,
    readonly id: string,
  ) {
    client.on('message', (_topic, payload) => this.got.push(JSON.parse(payload.toString()) as GrantsMessage));
  }
  static async connect(broker: Parameters<typeof robotClient>[0], id: string): Promise<Robot> {
    const client = await robotClient(broker, `${id}-test`);
    await client.subscribeAsync(`auraison/lab/${id}/grants`, { qos: 1 });
    return new Robot(client, id);
  }
  async send(message: Record<string, unknown>): Promise<void> {
    await publishQos1(
      this.client,
      `auraison/lab/${this.id}/uploads`,
      JSON.stringify({ schema: UPLOADS_SCHEMA, robot: this.id, ts: new Date().toISOString(), ...message }),
    );
  }
  async answer(fileId: string, type: string): Promise<GrantsMessage> {
    await waitFor(
      () => this.got.some((m) => 'file_id' in m && m.file_id === fileId && m.type === type),
      `${type} for ${fileId}`,
    );
    return this.got.find((m) => 'file_id' in m && m.file_id === fileId && m.type === type)!;
  }
  /** Offers `bytes` as `offer` says, PUTs `put` (the same bytes unless given), completes; returns central's verdict. */
  async upload(
    offer: Omit<Offer, 'schema' | 'type' | 'robot' | 'fleet' | 'ts' | 'file_id' | 'size' | 'sha256'>,
    bytes: Buffer,
    put = bytes,
  ) {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const file_id = `${offer.kind}:${sha256}`;
    await this.send({ type: 'offer', fleet: 'lab', file_id, size: bytes.length, sha256, ...offer });
    const grant = (await this.answer(file_id, 'grant')) as SingleGrant;
    expect(grant.mode).toBe('single');
    const response = await fetch(grant.put.url, { method: 'PUT', body: put, headers: grant.put.headers ?? {} });
    // The grant signs the offer's sha256 (x-amz-checksum-sha256): the storage itself refuses other bytes.
    expect(response.status, await response.clone().text()).toBe(put === bytes ? 200 : 400);
    await this.send({
      type: 'complete',
      file_id,
      grant_id: grant.grant_id,
      object_key: grant.object_key,
      sha256,
      size: bytes.length,
    });
    await waitFor(
      () =>
        this.got.some((m) => 'file_id' in m && m.file_id === file_id && (m.type === 'stored' || m.type === 'rejected')),
      `central's verdict on ${file_id}`,
    );
    return {
      grant,
      verdict: this.got.find(
        (m) => 'file_id' in m && m.file_id === file_id && (m.type === 'stored' || m.type === 'rejected'),
      )!,
    };
  }
}

async function parquetFile(dir: string): Promise<{ path: string; bytes: Buffer }> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  const out = join(dir, 'odom');
  mkdirSync(out);
  await c.run(`COPY (SELECT 'r1' AS robot, DATE '2024-01-01' AS date, range AS x, range * 0.5 AS y FROM range(1000))
    TO '${out}' (FORMAT parquet, PARTITION_BY (robot, date), FILENAME_PATTERN 'part-{i}')`);
  c.closeSync();
  db.closeSync();
  const path = join(out, 'robot=r1', 'date=2024-01-01', 'part-0.parquet');
  return { path, bytes: readFileSync(path) };
}

describe('central serve: uploads', () => {
  let serve: CentralServe;

  it('offer, grant, PUT, complete: stored; the parquet registered as it is and queryable; the bag listed; a sha256 mismatch rejected', async () => {
    const broker = await startBroker();
    cleanups.push(() => broker.cleanup());
    const pg = await startPostgres();
    cleanups.push(() => pg.cleanup());
    const minio = await startMinio();
    cleanups.push(() => minio.cleanup());
    await minio.createBucket('fleet');
    const dir = tempDir('central-serve-');
    cleanups.push(() => dir.cleanup());
    serve = await startCentralServe(serveSettings({ broker, pg, minio, dir: dir.path }), { log: silentLogger() });
    cleanups.push(() => serve.close());
    await waitFor(() => serve.intake.connected, 'central serve to connect');
    const robot = await Robot.connect(broker, 'r1');
    cleanups.push(() => robot.client.endAsync());

    // events land in the lake on MinIO (DuckLake's data path on S3)
    await publishQos1(robot.client, 'auraison/lab/r1/events', eventsPayload('r1', 'j1', 1, 20));
    await waitFor(() => serve.ingest.counts.events_written === 20, 'the events written');

    const parquet = await parquetFile(dir.path);
    const table = await robot.upload(
      { kind: 'table', table: '/odom', path: 'lakehouse/tables/odom/robot=r1/date=2024-01-01/part-0.parquet' },
      parquet.bytes,
    );
    expect(table.verdict).toMatchObject({ type: 'stored', object_key: table.grant.object_key });
    const odom = await serve.view.query('SELECT robot, count(*), sum(x) FROM "/odom" GROUP BY robot');
    expect(odom.rows).toEqual([['r1', '1000', '499500']]);
    // registered as it is: DuckLake's file is the uploaded object, not a copy
    const files = await serve.view.query(`SELECT data_file FROM ducklake_list_files('fleet', '/odom')`);
    expect(files.rows).toEqual([[`s3://fleet/${table.grant.object_key}`]]);

    const bag = randomBytes(200_000);
    const bagUpload = await robot.upload(
      {
        kind: 'bag',
        path: 'bags/run1/run1_0.mcap',
        bag: 'run1',
        segment_id: '0',
        topics: ['/odom', '/scan'],
        start_ns: '1700000000000000000',
        end_ns: '1700000060000000000',
      },
      bag,
    );
    expect(bagUpload.verdict.type).toBe('stored');
    const bags = await serve.view.query(
      'SELECT robot, bag, segment_id, topics, start_ns, object_key, sha256, size FROM bags',
    );
    expect(bags.rows).toEqual([
      [
        'r1',
        'run1',
        '0',
        ['/odom', '/scan'],
        '1700000000000000000',
        bagUpload.grant.object_key,
        createHash('sha256').update(bag).digest('hex'),
        '200000',
      ],
    ]);

    // the same complete again (a redelivery): stored again, registered once
    await robot.send({
      type: 'complete',
      file_id: `bag:${createHash('sha256').update(bag).digest('hex')}`,
      grant_id: bagUpload.grant.grant_id,
      object_key: bagUpload.grant.object_key,
      sha256: createHash('sha256').update(bag).digest('hex'),
      size: bag.length,
    });
    await waitFor(() => robot.got.filter((m) => m.type === 'stored').length === 3, 'the second stored');
    expect((await serve.view.query('SELECT count(*) FROM bags')).rows).toEqual([['1']]);

    // bytes that are not the offered file's: the storage refuses them on the granted URL; put there by
    // other means (a robot with the storage's keys), central's own check rejects the complete
    const offered = randomBytes(1000);
    const wrong = await robot.upload(
      { kind: 'bag', path: 'bags/run2/run2_0.mcap', bag: 'run2' },
      offered,
      randomBytes(1000),
    );
    expect(wrong.verdict).toMatchObject({ type: 'rejected' });
    const sha = createHash('sha256').update(offered).digest('hex');
    await minio
      .client()
      .send(new PutObjectCommand({ Bucket: 'fleet', Key: wrong.grant.object_key, Body: randomBytes(1000) }));
    await robot.send({
      type: 'complete',
      file_id: `bag:${sha}`,
      grant_id: wrong.grant.grant_id,
      object_key: wrong.grant.object_key,
      sha256: sha,
      size: 1000,
    });
    await waitFor(() => robot.got.filter((m) => m.type === 'rejected').length === 2, 'the second rejection');
    expect((robot.got.filter((m) => m.type === 'rejected')[1] as { reason: string }).reason).toMatch(/sha256/);
    expect((await serve.view.query('SELECT count(*) FROM bags')).rows).toEqual([['1']]);
    expect(serve.view.uploads()).toMatchObject({ stored: 3, rejected: 2 });
  });

  it('the policy: kinds not wanted, files over the size cap not wanted, outside the windows later', async () => {
    const { decide } = await import('../../central/uploads.ts');
    const policy = {
      kinds: ['bag' as const],
      bag_topics: ['/scan'],
      max_file_bytes: 1000,
      windows: [{ start: '22:00', end: '06:00' }],
      later_s: 60,
    };
    const offer = (o: Partial<Offer>) => ({ kind: 'bag', size: 10, topics: ['/scan'], ...o }) as Offer;
    const night = new Date('2024-01-01T23:30:00Z');
    expect(decide(policy, true, offer({ kind: 'table' }), night).type).toBe('not_wanted');
    expect(decide(policy, true, offer({ size: 1001 }), night).type).toBe('not_wanted');
    expect(decide(policy, true, offer({ topics: ['/odom'] }), night).type).toBe('not_wanted');
    expect(decide(policy, true, offer({}), new Date('2024-01-01T12:00:00Z'))).toMatchObject({
      type: 'later',
      retry_after_s: 60,
    });
    expect(decide(policy, true, offer({}), night).type).toBe('grant');
    expect(decide(policy, false, offer({}), night).type).toBe('not_wanted');
  });
});
