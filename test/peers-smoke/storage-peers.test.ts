import { afterAll, describe, expect, it } from 'vitest';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import { duckdbExtension } from '../peers/index.ts';
import { cleanupStack, runCleanups } from '../helpers/cleanups.ts';
import { startMinio } from '../helpers/minio.ts';
import { startPostgres } from '../helpers/postgres.ts';

const cleanups = cleanupStack();
afterAll(() => runCleanups(cleanups));

describe('the storage peers bulk sync and the reference central use', () => {
  it('MinIO stores and gives back an object, and keeps it across a kill -9 and restart', async () => {
    const minio = await startMinio();
    cleanups.push(() => minio.cleanup());
    await minio.createBucket('fleet');
    const s3 = minio.client();
    await s3.send(new PutObjectCommand({ Bucket: 'fleet', Key: 'a/b.txt', Body: 'hello' }));
    await minio.stop('SIGKILL');
    await minio.restart();
    const got = await s3.send(new GetObjectCommand({ Bucket: 'fleet', Key: 'a/b.txt' }));
    expect(await got.Body!.transformToString()).toBe('hello');
  });

  it('DuckLake keeps its catalog on PostgreSQL, with the extensions loaded by path', async () => {
    const pg = await startPostgres();
    cleanups.push(() => pg.cleanup());
    const data = `${pg.dir}/lake/`;
    const open = async () => {
      const db = await DuckDBInstance.create(':memory:');
      const c = await db.connect();
      for (const e of ['ducklake', 'postgres_scanner'] as const) await c.run(`LOAD '${duckdbExtension(e)}'`);
      await c.run(`ATTACH 'ducklake:postgres:${pg.conninfo}' AS fleet (DATA_PATH '${data}')`);
      return { c, close: () => c.closeSync() };
    };
    const a = await open();
    await a.c.run('CREATE TABLE fleet.t (robot VARCHAR, n INTEGER)');
    await a.c.run("INSERT INTO fleet.t VALUES ('r1', 1), ('r2', 2)");
    a.close();
    await pg.stop();
    await pg.restart();
    const b = await open();
    const rows = (await b.c.runAndReadAll('SELECT robot, n FROM fleet.t ORDER BY robot')).getRows();
    b.close();
    expect(rows).toEqual([
      ['r1', 1],
      ['r2', 2],
    ]);
  });
});
