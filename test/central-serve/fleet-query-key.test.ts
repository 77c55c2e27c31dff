import { afterAll, describe, expect, it } from 'vitest';
import { checkCentralServeText } from '../../central/config.ts';
import { FleetLake } from '../../central/lake.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { tempDir } from '../helpers/cli.ts';
import type { Broker } from '../helpers/mosquitto.ts';
import { startMinio } from '../helpers/minio.ts';
import { startPostgres } from '../helpers/postgres.ts';
import { serveSettings } from './fixtures.ts';

// fleet_query.s3_access_key_id: the query's own DuckDB reads the lake's data with that key, not with the
// storage key central writes with. MinIO here knows no such key, so the query is refused by the storage itself.
const cleanups = cleanupStack(afterAll);
const QUERY_KEY = 'fleet-query-read-only';

describe('the fleet query’s storage key (data in MinIO)', () => {
  it.each([
    ['on PostgreSQL', true],
    ['in a DuckDB file', false],
  ])(
    'reads with fleet_query.s3_access_key_id, catalog %s, while central writes with the storage key',
    async (_, onPg) => {
      const [pg, minio] = await Promise.all([onPg ? startPostgres() : undefined, startMinio()]);
      cleanups.push(
        () => pg?.cleanup(),
        () => minio.cleanup(),
      );
      await minio.createBucket('fleet');
      const dir = tempDir('fleet-query-key-');
      cleanups.push(dir.cleanup);
      // FleetLake.open reads only the lake's settings: no broker is dialled.
      const broker = { url: 'mqtt://127.0.0.1:1' } as Broker;
      const settings = serveSettings({ broker, ...(pg ? { pg } : {}), minio, dir: dir.path });
      const lake = await FleetLake.open({
        ...settings,
        fleet_query: { ...settings.fleet_query, s3_access_key_id: QUERY_KEY, s3_secret_access_key: 'not-known' },
      });
      cleanups.push(() => lake.close());
      await lake.writer.run('CREATE TABLE odom AS SELECT range AS seq, range * 0.5 AS x FROM range(50000)');
      expect((await lake.query('SELECT count(*), sum(x) FROM odom')).rows).toEqual([['50000', '624987500.0']]);

      const secrets = JSON.stringify(
        (await (await lake.guarded()).runAndReadAll('FROM duckdb_secrets()')).getRowsJson(),
      );
      expect(secrets).toContain(`key_id=${QUERY_KEY}`);
      expect(secrets).not.toContain(`key_id=${minio.accessKeyId}`);
      await expect(lake.fleetQuery('SELECT sum(x) FROM odom')).rejects.toThrow(
        /403|Forbidden|Access Denied|InvalidAccessKeyId/i,
      );
    },
  );
});

describe('fleet_query.s3_access_key_id in central.yaml', () => {
  const s3 = 'lakehouse:\n  data_path: s3://fleet/lake/\nstorage:\n  access_key_id: w\n  secret_access_key: w\n';
  it.each([
    [
      `${s3}http:\n  host: 0.0.0.0\n  token: t`,
      /^fleet_query\.s3_access_key_id: required when http\.host \(0\.0\.0\.0\) is beyond loopback/,
    ],
    ['storage:\n  bucket: uploads\nhttp:\n  host: 10.0.0.5\n  token: t', /^fleet_query\.s3_access_key_id: required/],
    ['lakehouse:\n  catalog: "postgres:host=db"\nfleet_query:\n  s3_access_key_id: k', /together, or neither/],
  ])('is refused where it would not hold: %j', (yaml, why) => {
    const { config, issues } = checkCentralServeText(`mqtt:\n  url: mqtt://127.0.0.1:1883\n${yaml}`, {});
    expect(config).toBeUndefined();
    expect(issues.map((i) => `${i.path}: ${i.message}`).join('\n')).toMatch(why);
  });

  it.each([
    `${s3}http:\n  host: 127.0.0.1`,
    `${s3}http:\n  host: 0.0.0.0\n  token: t\nfleet_query:\n  s3_access_key_id: r\n  s3_secret_access_key: r`,
    'http:\n  host: 0.0.0.0\n  token: t',
  ])('is not asked on loopback, when given, or with no S3: %j', (yaml) => {
    const { config, issues } = checkCentralServeText(`mqtt:\n  url: mqtt://127.0.0.1:1883\n${yaml}`, {});
    expect(issues).toEqual([]);
    expect(config).toBeDefined();
  });
});
