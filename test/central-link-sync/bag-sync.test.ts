import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { lakehousePaths, withCatalog } from '../../daemon/lakehouse/catalog.ts';
import { listSyncFiles } from '../../daemon/lakehouse/sync-files.ts';
import { centralConfig } from '../central/central-harness.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { startSimDaemon } from '../helpers/daemon.ts';
import { startMinio } from '../helpers/minio.ts';
import { startBroker } from '../helpers/mosquitto.ts';
import { startTestCentral } from '../helpers/test-central.ts';
import { waitFor, waitForValue } from '../helpers/wait.ts';
import { PORTS } from '../../daemon/contract/index.ts';

const BUCKET = 'fleet';

async function objectSha256(client: ReturnType<Awaited<ReturnType<typeof startMinio>>['client']>, key: string) {
  const r = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return createHash('sha256')
    .update(await r.Body!.transformToByteArray())
    .digest('hex');
}

describe('bulk sync of a recorded bag', () => {
  const cleanups = cleanupStack();

  it('uploads a recorded split and its lakehouse files to the storage central grants, equal by sha256, and records them stored', async () => {
    const broker = await startBroker();
    cleanups.push(broker.cleanup);
    const minio = await startMinio();
    cleanups.push(minio.cleanup);
    await minio.createBucket(BUCKET);
    const central = await startTestCentral({ brokerUrl: broker.url, minio, bucket: BUCKET });
    cleanups.push(central.close);
    const { daemon, dir } = await startSimDaemon(cleanups, {
      speed: 4,
      config: {
        robot: { id: 'tb3-1', fleet: 'lab' },
        recorder: { enabled: true, min_free_bytes: 0 },
        central: centralConfig(broker.url, { sync: { enabled: true, offers_per_s: 50 } }),
      },
    });
    const dataDir = join(dir, 'data');
    const recorder = daemon.ports.get(PORTS.recorder)!;
    await waitFor(async () => (await recorder.split()) !== undefined, 'a split with messages');
    // The files of that split: its bag file and the lakehouse files indexed from it. The sim drives on, so
    // new files keep coming; under load they may come faster than they are stored, so those are not waited for.
    const offered = await waitForValue(async () => {
      const now = await listSyncFiles(dataDir);
      return now.some((r) => r.kind === 'bag') && now.some((r) => r.kind === 'table') && now;
    }, 'the split and its lakehouse files offered');
    const ids = new Set(offered.map((r) => r.fileId));
    let rows = offered;
    await waitFor(
      async () => {
        rows = (await listSyncFiles(dataDir)).filter((r) => ids.has(r.fileId));
        return rows.every((r) => r.state === 'stored');
        // ten files stored one after another: on a loaded 2-core machine about 3 s each, past the default wait
      },
      'every sync file to be stored at central',
      120_000,
    );
    const s3 = minio.client();
    for (const r of rows) {
      const onDisk = createHash('sha256')
        .update(readFileSync(join(dataDir, r.path)))
        .digest('hex');
      expect(r.sha256).toBe(onDisk);
      expect(r.objectKey).toBe(central.state.stored.get(r.fileId));
      expect(await objectSha256(s3, r.objectKey!)).toBe(onDisk);
    }
    const states = await withCatalog(lakehousePaths(dataDir).catalog, async (conn) =>
      (await conn.runAndReadAll('SELECT DISTINCT sync_state FROM bags')).getRows().map((r) => String(r[0])),
    );
    expect(states).toEqual(['synced']);
  }, 180_000);
});
