import { describe, expect, it } from 'vitest';
import { cleanupStack } from '../helpers/cleanups.ts';
import { waitFor } from '../helpers/wait.ts';
import { addSyncFiles, syncDaemon, syncPeers, syncStatus, waitStored } from './sync-harness.ts';

/**
 * What `sync status` says went wrong last is dated, and goes once an upload succeeds after it: a lab that fixed its
 * storage (a missing bucket made) must not read the old error for ever.
 */
describe("bulk sync's last error", () => {
  const cleanups = cleanupStack();

  it('carries its time while the storage answers NoSuchBucket, and clears once an upload is stored', async () => {
    const { broker, proxy } = await syncPeers(cleanups, { proxy: true });
    // The storage as it is before the bucket is made: every upload answered 404 NoSuchBucket.
    proxy!.fault = (r) => (r.presigned ? { kind: 'status', status: 404, code: 'NoSuchBucket' } : undefined);
    const { daemon, dataDir } = await syncDaemon(cleanups, broker.url);
    const before = Date.now();
    const [file] = await addSyncFiles(dataDir, [64 * 1024]);
    await waitFor(() => syncStatus(daemon).last_error !== null, 'the failed upload said');
    const failed = syncStatus(daemon);
    expect(String(failed.last_error)).toMatch(/NoSuchBucket|404/);
    const at = Date.parse(String(failed.last_error_at));
    expect(at).toBeGreaterThanOrEqual(before - 1000);
    expect(at).toBeLessThanOrEqual(Date.now());

    proxy!.fault = undefined; // the bucket is made
    await waitStored(dataDir, [file!.path]);
    expect(syncStatus(daemon)).toMatchObject({ last_error: null, last_error_at: null });
  });
});
