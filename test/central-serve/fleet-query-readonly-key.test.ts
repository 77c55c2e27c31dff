import { execFileSync } from 'node:child_process';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { FleetLake } from '../../central/lake.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { tempDir } from '../helpers/cli.ts';
import type { Broker } from '../helpers/mosquitto.ts';
import { startMinio, type Minio } from '../helpers/minio.ts';
import { startPostgres } from '../helpers/postgres.ts';
import { minioClientBinary } from '../peers/index.ts';
import { serveSettings } from './fixtures.ts';

// fleet_query.s3_access_key_id with a key MinIO itself holds to reading (a user with MinIO's built-in readonly
// policy, made through its admin API with mc): the fleet query reads the lake with it, and a write that got past
// every guard of ours (run here straight on the query's DuckDB) is refused by the storage, the object unchanged.
const cleanups = cleanupStack(afterAll);
const READER = 'fleet-reader';
const READER_SECRET = 'fleet-reader-secret-1';

function readOnlyUser(minio: Minio, home: string): void {
  const mc = (...args: string[]) =>
    execFileSync(minioClientBinary(), ['--config-dir', home, '--quiet', ...args], { encoding: 'utf8' });
  mc('alias', 'set', 'lab', minio.endpoint, minio.accessKeyId, minio.secretAccessKey);
  mc('admin', 'user', 'add', 'lab', READER, READER_SECRET);
  mc('admin', 'policy', 'attach', 'lab', 'readonly', '--user', READER);
}

async function objectBytes(minio: Minio, key: string): Promise<string> {
  const got = await minio.client().send(new GetObjectCommand({ Bucket: 'fleet', Key: key }));
  return Buffer.from(await got.Body!.transformToByteArray()).toString('base64');
}

describe('the fleet query with a storage key that can only read (catalog on PostgreSQL, data in MinIO)', () => {
  it('reads the lake, and the storage refuses any write made with it', async () => {
    const [pg, minio] = await Promise.all([startPostgres(), startMinio()]);
    cleanups.push(
      () => pg.cleanup(),
      () => minio.cleanup(),
    );
    await minio.createBucket('fleet');
    const dir = tempDir('fleet-query-readonly-');
    cleanups.push(dir.cleanup);
    readOnlyUser(minio, dir.path);
    const broker = { url: 'mqtt://127.0.0.1:1' } as Broker;
    const settings = serveSettings({ broker, pg, minio, dir: dir.path });
    const lake = await FleetLake.open({
      ...settings,
      fleet_query: { ...settings.fleet_query, s3_access_key_id: READER, s3_secret_access_key: READER_SECRET },
    });
    cleanups.push(() => lake.close());
    await lake.writer.run('CREATE TABLE odom AS SELECT range AS seq, range * 0.5 AS x FROM range(50000)');

    // The fleet query reads with the reader's key.
    const answer = await lake.fleetQuery('SELECT count(*), sum(x) FROM odom');
    expect(JSON.stringify(answer)).toContain('50000');

    const listed = await minio.client().send(new ListObjectsV2Command({ Bucket: 'fleet' }));
    const data = (listed.Contents ?? []).map((o) => o.Key!).filter((k) => k.endsWith('.parquet'));
    expect(data.length).toBeGreaterThan(0);
    const before = await Promise.all(data.map((k) => objectBytes(minio, k)));

    // What the parser and the read-only transaction refuse, run straight on the query's own DuckDB: the storage
    // is the last guard, and it holds.
    const target = `s3://fleet/${data[0]}`;
    await expect(
      (await lake.guarded()).run(`COPY (SELECT 42 AS evil) TO '${target}' (FORMAT parquet)`),
    ).rejects.toThrow(/403|Forbidden|Access ?Denied/i);
    await expect(
      (await lake.guarded()).run(`COPY (SELECT 42 AS evil) TO 's3://fleet/lake/new-object.parquet' (FORMAT parquet)`),
    ).rejects.toThrow(/403|Forbidden|Access ?Denied/i);
    expect(await Promise.all(data.map((k) => objectBytes(minio, k)))).toEqual(before);
    const after = await minio.client().send(new ListObjectsV2Command({ Bucket: 'fleet' }));
    expect((after.Contents ?? []).map((o) => o.Key!).sort()).toEqual((listed.Contents ?? []).map((o) => o.Key!).sort());
  });
});
