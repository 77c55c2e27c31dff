import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { listSyncFiles } from '../../daemon/lakehouse/sync-files.ts';
import { tempDir } from '../helpers/cli.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { waitForValue } from '../helpers/wait.ts';
import { addSyncFiles, MiB, objectSha256, syncConfig, syncPeers, waitStored } from './sync-harness.ts';

const CHILD = join(import.meta.dirname, 'daemon-child.ts');
const PART = 5 * MiB;

function startChild(config: string): { child: ChildProcess; started: Promise<void> } {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const started = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('started') && resolve());
    child.once('exit', (code) => reject(new Error(`the daemon exited (${code}) before it started: ${err}`)));
  });
  return { child, started };
}

describe('bulk sync across kill -9', () => {
  const cleanups = cleanupStack();

  it('resumes an upload cut by kill -9 from the parts the storage has: at most one part more than what was missing', async () => {
    const { broker, minio, proxy } = await syncPeers(cleanups, { proxy: true, partSizeBytes: PART });
    const dir = tempDir('sync-kill-');
    cleanups.push(dir.cleanup);
    const dataDir = join(dir.path, 'data');
    const config = join(dir.path, 'edge.yaml');
    // 4 MiB/s: a 30 MiB file takes about 8 s, so the kill lands mid-upload.
    writeFileSync(
      config,
      stringify({ data_dir: './data', ...syncConfig(broker.url, {}, {}, { max_upload_bytes_per_s: 4 * MiB }) }),
    );
    let run = startChild(config);
    cleanups.push(() => void run.child.kill('SIGKILL'));
    await run.started;
    const [file] = await addSyncFiles(dataDir, [30 * MiB]);
    const acked = await waitForValue(
      async () => {
        const row = (await listSyncFiles(dataDir))[0];
        return row && row.ackedParts.length >= 2 ? row.ackedParts : undefined;
      },
      'two parts acknowledged',
      60_000,
    );
    run.child.kill('SIGKILL');
    await new Promise((r) => run.child.once('exit', r));
    const sentBefore = proxy!.bodyBytes;
    // What the catalog recorded after the kill (a part acknowledged after the read above counts too).
    const ackedBytes = (await listSyncFiles(dataDir))[0]!.ackedParts.reduce((n, p) => n + p.size, 0);
    expect(ackedBytes).toBeGreaterThanOrEqual(acked.reduce((n, p) => n + p.size, 0));
    expect(ackedBytes).toBeLessThan(file!.size);
    run = startChild(config);
    await run.started;
    const rows = await waitStored(dataDir, [file!.path]);
    const sentAfter = proxy!.bodyBytes - sentBefore;
    expect(sentAfter).toBeLessThanOrEqual(file!.size - ackedBytes + PART);
    expect(await objectSha256(minio, rows[0]!.objectKey!)).toBe(file!.sha256);
    // Two daemons, a kill -9 and a resumed upload: its waits bound it, not vitest's 60 s default.
  }, 180_000);
});
