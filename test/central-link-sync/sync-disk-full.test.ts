import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanupStack } from '../helpers/cleanups.ts';
import { canMountTmpfs, fillDisk, mountSmallTmpfs } from '../helpers/small-tmpfs.ts';
import { waitFor } from '../helpers/wait.ts';
import { addSyncFiles, BUCKET, syncDaemon, syncPeers, syncStatus, waitStored } from './sync-harness.ts';

describe.skipIf(!canMountTmpfs())('bulk sync on a full disk', () => {
  const cleanups = cleanupStack();

  it('says so when the catalog cannot be written (degraded, no crash), and uploads once there is room again', async () => {
    const { broker, central, minio } = await syncPeers(cleanups, { answer: 'ignore' });
    const disk = mountSmallTmpfs('64m');
    cleanups.push(disk.cleanup);
    const dataDir = join(disk.path, 'data');
    // Unsigned commands taken (the file's opt-out): a robot that checks signatures keeps each command's counter
    // durable in its state dir before acting, so on a full disk it refuses central's grants (counter_not_saved)
    // before sync could record them; this test is about sync's own catalog writes. Grants to where the test's
    // MinIO is pinned, as an unsigned grant never names storage itself.
    const { daemon } = await syncDaemon(cleanups, broker.url, {
      config: { data_dir: dataDir, lakehouse: { events_flush_s: 3600 } },
      sync: { offer_timeout_s: 1, storage_origins: [`${minio.endpoint}/${BUCKET}/`] },
      central: { command_keys: [], require_signed_commands: false },
    });
    const [file] = await addSyncFiles(dataDir, [256 * 1024]);
    await waitFor(() => central.state.offers.some((o) => o.path === file!.path), 'the file to be offered');
    const full = fillDisk(disk.path);
    central.answerWith('grant'); // the next offer is granted: recording it as uploading fails
    await waitFor(() => syncStatus(daemon).degraded !== null, 'sync to say its catalog writes fail', 60_000);
    expect(String(syncStatus(daemon).degraded)).toMatch(/No space left|ENOSPC|disk|space/i);
    expect(daemon.status().components.central?.state).toBe('degraded');
    full.free();
    await waitStored(dataDir, [file!.path]);
    await waitFor(() => syncStatus(daemon).degraded === null, 'sync to be well again');
  });
});
