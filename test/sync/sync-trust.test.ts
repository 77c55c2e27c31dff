import { describe, expect, it } from 'vitest';
import { GRANTS_SCHEMA } from '../../central-link/sync-protocol.ts';
import { listSyncFiles } from '../../daemon/lakehouse/sync-files.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { centralClient } from '../helpers/mosquitto.ts';
import { publishCommand } from '../helpers/command-key.ts';
import { waitFor } from '../helpers/wait.ts';

import { addSyncFiles, BUCKET, FLEET, ROBOT, syncDaemon, syncPeers, syncStatus, waitStored } from './sync-harness.ts';

/**
 * Who bulk sync obeys: a grant sends the robot's files only to the storage its config pins (a forged grant made a
 * robot PUT its bags to an attacker's listener), and a `stored` is taken only for a file the robot uploaded under
 * that object key (forged ones marked files synced that were never uploaded, and retention deletes synced files
 * first). The attacker here is another MQTT client on the same broker, publishing on the robot's grants topic.
 */
describe('bulk sync against forged grants and forged stored', () => {
  const cleanups = cleanupStack();

  it('uploads only to a pinned storage origin: a grant elsewhere is refused, counted, and nothing is sent', async () => {
    const { broker, minio, central } = await syncPeers(cleanups);
    // Pinned to another bucket of the same MinIO: the test central's grants (bucket `fleet`) are not under it.
    const { daemon, dataDir } = await syncDaemon(cleanups, broker.url, {
      sync: { storage_origins: [`${minio.endpoint}/other-bucket/`] },
    });
    const [file] = await addSyncFiles(dataDir, [64 * 1024]);
    await waitFor(() => central.state.offers.length > 0, 'an offer');
    await waitFor(() => (syncStatus(daemon).refused as { grants: number }).grants > 0, 'the grant refused');
    expect(syncStatus(daemon).last_error).toMatch(/under none of central\.sync\.storage_origins/);
    expect(central.state.completes).toEqual([]);
    expect((await listSyncFiles(dataDir)).find((r) => r.path === file!.path)?.state).not.toBe('stored');
  });

  it('uploads to the storage it pins', async () => {
    const { broker, minio } = await syncPeers(cleanups);
    const { dataDir } = await syncDaemon(cleanups, broker.url, {
      sync: { storage_origins: [`${minio.endpoint}/${BUCKET}/`] },
    });
    const files = await addSyncFiles(dataDir, [64 * 1024]);
    await waitStored(
      dataDir,
      files.map((f) => f.path),
    );
  });

  it("refuses a 'stored' for a file it has not uploaded, with the offer's own sha256 and size", async () => {
    const { broker, central } = await syncPeers(cleanups, { answer: 'ignore' });
    const { daemon, dataDir } = await syncDaemon(cleanups, broker.url);
    const [file] = await addSyncFiles(dataDir, [64 * 1024]);
    await waitFor(() => central.state.offers.length > 0, 'an offer');
    const row = (await listSyncFiles(dataDir)).find((r) => r.path === file!.path)!;
    const attacker = await centralClient(broker.url, []);
    cleanups.push(attacker.end);
    const forged = (type: string) =>
      JSON.stringify({
        schema: GRANTS_SCHEMA,
        type,
        file_id: row.fileId,
        object_key: `fleet/${ROBOT}/forged`,
        sha256: row.sha256,
        size: row.size,
        ts: '1',
      });
    // Unsigned, as any broker client can send it: refused before bulk sync reads it.
    await attacker.client.publishAsync(`auraison/${FLEET}/${ROBOT}/grants`, forged('stored'), { qos: 1 });
    const signatures = () =>
      (daemon.status().components.central!.details as { signatures: Record<string, number> }).signatures;
    await waitFor(() => signatures().unsigned === 1, 'the unsigned stored refused');
    expect((syncStatus(daemon).refused as { stored: number }).stored).toBe(0);
    // Signed with central's key: even central's own word is not taken for a file the robot never uploaded.
    await publishCommand(
      attacker.client,
      `auraison/${FLEET}/${ROBOT}/grants`,
      JSON.stringify({
        schema: GRANTS_SCHEMA,
        type: 'stored',
        file_id: row.fileId,
        object_key: `fleet/${ROBOT}/forged`,
        sha256: row.sha256,
        size: row.size,
        ts: '1',
      }),
    );
    await waitFor(() => (syncStatus(daemon).refused as { stored: number }).stored > 0, "the 'stored' refused");
    expect((await listSyncFiles(dataDir)).find((r) => r.path === file!.path)?.state).not.toBe('stored');
  });
});
