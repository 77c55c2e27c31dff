import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { listSyncFiles } from '../../daemon/lakehouse/sync-files.ts';
import { tempDir } from '../helpers/cli.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { waitForValue } from '../helpers/wait.ts';
import { DaemonProcess } from '../agent/daemon-process.ts';
import { addSyncFiles, MiB, objectSha256, syncConfig, syncPeers, waitStored } from './sync-harness.ts';

const PART = 5 * MiB;

/**
 * SIGTERM while a multipart upload to real MinIO is under way: the daemon's stop cuts the upload (it does not wait
 * for the rest of the file, which would hold the stop past its budget), keeps the parts the storage acknowledged,
 * says so, and the next start resumes the same upload past them instead of sending the file again.
 */
describe('an upload in flight at SIGTERM', () => {
  const cleanups = cleanupStack();

  it('is cut by the stop, said, and resumed at the next start past the parts the storage has', async () => {
    const { broker, minio, proxy } = await syncPeers(cleanups, { proxy: true, partSizeBytes: PART });
    const dir = tempDir('sync-sigterm-');
    cleanups.push(dir.cleanup);
    const dataDir = join(dir.path, 'data');
    const config = join(dir.path, 'edge.yaml');
    // 4 MiB/s: the 60 MiB file takes 15 s, so the stop lands mid-upload with most of it left, more than the
    // daemon's 5 s stop budget would let the link wait for.
    writeFileSync(
      config,
      stringify({
        data_dir: './data',
        log: { level: 'info' },
        ...syncConfig(broker.url, {}, {}, { max_upload_bytes_per_s: 4 * MiB }),
      }),
    );
    let run = new DaemonProcess(dir.path, config);
    cleanups.push(() => void run.child.kill('SIGKILL'));
    await run.running();
    const [file] = await addSyncFiles(dataDir, [60 * MiB]);
    await waitForValue(
      async () => ((await listSyncFiles(dataDir))[0]?.ackedParts.length ?? 0) >= 2,
      'two parts acknowledged',
      60_000,
    );
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    const said = (text: string) => run.logs.filter((l) => String(l.msg).includes(text));
    expect(said('still running after stop')).toEqual([]);
    expect(said('still open after the stop')).toEqual([]);
    const [cut] = said('sync: an upload was cut by the stop');
    expect(cut, JSON.stringify(run.logs.slice(-20))).toMatchObject({ path: file!.path, bytes: file!.size });
    expect(said('daemon stopped')).toHaveLength(1);

    const [row] = await listSyncFiles(dataDir);
    const storedBytes = row!.ackedParts.reduce((n, p) => n + p.size, 0);
    expect(row).toMatchObject({ state: 'uploading', uploadId: expect.any(String) });
    expect(storedBytes).toBe(cut!.stored_bytes);
    expect(storedBytes).toBeLessThan(file!.size);

    const sentBefore = proxy!.bodyBytes;
    run = new DaemonProcess(dir.path, config);
    await run.running();
    const rows = await waitStored(dataDir, [file!.path]);
    // Resumed: the same upload, at most the part that was in flight at the stop sent again.
    expect(rows[0]!.uploadId).toBe(row!.uploadId);
    expect(proxy!.bodyBytes - sentBefore).toBeLessThanOrEqual(file!.size - storedBytes + PART);
    expect(await objectSha256(minio, rows[0]!.objectKey!)).toBe(file!.sha256);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  }, 240_000);
});
