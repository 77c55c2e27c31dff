import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, openSync, closeSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { PORTS } from '../../daemon/contract/ports.ts';
import type { SyncStatus } from '../../daemon/contract/sync-status.ts';
import type { Daemon } from '../../daemon/daemon.ts';
import { lakehousePaths, NEXT_SEQ, withCatalog } from '../../daemon/lakehouse/catalog.ts';
import { listSyncFiles, type SyncFile } from '../../daemon/lakehouse/sync-files.ts';
import { quoteString } from '../../daemon/lakehouse/sql-text.ts';
import { centralConfig, FLEET, ROBOT, waitOnline } from '../central/central-harness.ts';
import type { Cleanup } from '../helpers/cleanups.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { startHttpFaultProxy, type HttpFaultProxy } from '../helpers/http-fault-proxy.ts';
import { startMinio, type Minio } from '../helpers/minio.ts';
import { startBroker, type Broker } from '../helpers/mosquitto.ts';
import { startTestCentral, type TestCentralOptions } from '../helpers/test-central.ts';
import { waitFor } from '../helpers/wait.ts';
import { TEST_COMMAND_KEY } from '../helpers/command-key.ts';

export { FLEET, ROBOT };
export const BUCKET = 'fleet';
export const MiB = 1024 * 1024;

/** A broker, a MinIO with the bucket, optionally a fault proxy in front of it, and the test central. */
export async function syncPeers(
  cleanups: Cleanup[],
  options: { proxy?: boolean } & Partial<TestCentralOptions> = {},
): Promise<{
  broker: Broker;
  minio: Minio;
  proxy: HttpFaultProxy | undefined;
  central: Awaited<ReturnType<typeof startTestCentral>>;
}> {
  const broker = await startBroker();
  cleanups.push(broker.cleanup);
  const minio = await startMinio();
  cleanups.push(minio.cleanup);
  await minio.createBucket(BUCKET);
  let proxy: HttpFaultProxy | undefined;
  if (options.proxy) {
    proxy = await startHttpFaultProxy(minio.port);
    cleanups.push(proxy.close);
  }
  const central = await startTestCentral({
    brokerUrl: broker.url,
    minio,
    bucket: BUCKET,
    ...(proxy ? { endpoint: proxy.url } : {}),
    ...options,
  });
  cleanups.push(central.close);
  return { broker, minio, proxy, central };
}

/** The daemon's config with the central link and bulk sync on (no sim, no API unless `config` says). */
export function syncConfig(
  brokerUrl: string,
  config: Record<string, unknown> = {},
  sync: Record<string, unknown> = {},
  central: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    robot: { id: ROBOT, fleet: FLEET },
    api: { enabled: false },
    foxglove: { enabled: false },
    ...config,
    // The test central signs its grants: the robot takes only those (central.command_keys).
    central: centralConfig(brokerUrl, {
      sync: { enabled: true, offers_per_s: 50, ...sync },
      command_keys: [TEST_COMMAND_KEY],
      ...central,
    }),
  };
}

/** A daemon with bulk sync on, in-process; returned once its link is up unless `online` is false. */
export async function syncDaemon(
  cleanups: Cleanup[],
  brokerUrl: string,
  options: {
    config?: Record<string, unknown>;
    sync?: Record<string, unknown>;
    central?: Record<string, unknown>;
    online?: boolean;
  } = {},
): Promise<{ daemon: Daemon; dataDir: string }> {
  const started = await startDaemon(syncConfig(brokerUrl, options.config, options.sync, options.central), 'sync-');
  cleanups.push(started.stop);
  if (options.online !== false) await waitOnline(started.daemon);
  return { daemon: started.daemon, dataDir: join(started.dir, 'data') };
}

/**
 * Files of `sizes` bytes of random data under <data_dir>/synthetic, each with a sync row awaiting
 * upload (kind bag), as the lakehouse would add for recorded splits. Returns their relative paths and sha256.
 */
export async function addSyncFiles(
  dataDir: string,
  sizes: number[],
  name = 'f',
): Promise<{ path: string; sha256: string; size: number }[]> {
  const dir = join(dataDir, 'synthetic'); // nothing of the daemon's looks here: only the sync rows name them
  mkdirSync(dir, { recursive: true });
  const files = sizes.map((size, i) => {
    const path = `synthetic/${name}${i}.mcap`;
    const hash = createHash('sha256');
    const fd = openSync(join(dataDir, path), 'w');
    for (let left = size; left > 0;) {
      const chunk = randomBytes(Math.min(left, 4 * MiB));
      writeSync(fd, chunk);
      hash.update(chunk);
      left -= chunk.length;
    }
    closeSync(fd);
    return { path, sha256: hash.digest('hex'), size };
  });
  await withCatalog(lakehousePaths(dataDir).catalog, async (conn) => {
    for (const f of files)
      await conn.run(
        `INSERT INTO sync_files (path, kind, size, sha256, file_id, meta, state, seq) VALUES (${quoteString(f.path)}, 'bag', ${f.size}, ${quoteString(f.sha256)}, ${quoteString(`bag:${f.sha256}`)}, '{}', 'awaiting', ${NEXT_SEQ})`,
      );
  });
  return files;
}

/** Waits until every sync row is in a final state, and every one of `paths` is stored; returns the rows. */
export async function waitStored(
  dataDir: string,
  paths: string[],
  what = 'every file stored at central',
): Promise<SyncFile[]> {
  let rows: SyncFile[] = [];
  await waitFor(
    async () => {
      rows = await listSyncFiles(dataDir);
      const byPath = new Map(rows.map((r) => [r.path, r]));
      return paths.every((p) => byPath.get(p)?.state === 'stored');
    },
    what,
    120_000,
  );
  return rows;
}

/** The sha256 of an object in the bucket. */
export async function objectSha256(minio: Minio, key: string): Promise<string> {
  const r = await minio.client().send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  const hash = createHash('sha256');
  for await (const chunk of r.Body as AsyncIterable<Uint8Array>) hash.update(chunk);
  return hash.digest('hex');
}

/** The daemon's sync status (GET /sync's body), from the component that provides bulk sync. */
export function syncStatus(daemon: Daemon): SyncStatus {
  return daemon.ports.get(PORTS.sync)!.syncStatus()!;
}
