import { describe, expect, it } from 'vitest';
import { cleanupStack } from '../helpers/cleanups.ts';
import { waitFor } from '../helpers/wait.ts';
import {
  addSyncFiles,
  MiB,
  objectSha256,
  ROBOT,
  syncDaemon,
  syncPeers,
  syncStatus,
  waitStored,
} from './sync-harness.ts';

const EVENTS = 10_000;

describe('bulk sync through a partitioned link', () => {
  const cleanups = cleanupStack();

  it('gets every event once after dedupe, in order, and every file whole, while the broker and the storage go down and up', async () => {
    const { broker, minio, central } = await syncPeers(cleanups);
    // 8 MiB/s: the 73 MiB take about 9 s, so the faults below land during the uploads.
    const { daemon, dataDir } = await syncDaemon(cleanups, broker.url, {
      sync: { offer_timeout_s: 3 },
      central: { max_upload_bytes_per_s: 8 * MiB },
    });
    const files = await addSyncFiles(dataDir, [5 * MiB, 18 * MiB, 50 * MiB]);
    const burst = (async () => {
      for (let i = 0; i < EVENTS; i++) await daemon.journal.append('agent_event', { i, note: 'partition' });
    })();
    // Each round: the storage dies (kill -9) during an upload and comes back once the daemon has seen it fail, then
    // the broker stops and comes back once the daemon has seen the link down. A round after the last file went up
    // has no upload to cut: its storage fault is the broker's alone.
    const status = () => syncStatus(daemon);
    const uploaded = () => status().awaiting.files === 0 && status().current === null;
    let cuts = 0;
    for (let round = 0; round < 3; round++) {
      await waitFor(() => status().current !== null || uploaded(), `round ${round}: an upload in flight`, 60_000);
      const cut = status().current !== null;
      if (cut) cuts++;
      const errorAt = status().last_error_at;
      await minio.stop('SIGKILL');
      if (cut) await waitFor(() => status().last_error_at !== errorAt, `round ${round}: the upload to fail`, 60_000);
      await minio.restart();
      await broker.stop();
      await waitFor(() => !status().online, `round ${round}: the link seen down`, 60_000);
      await broker.restart();
    }
    await burst;
    // The first round at least found the 73 MiB going up (8 MiB/s), and cut it.
    expect(cuts).toBeGreaterThan(0);
    const rows = await waitStored(
      dataDir,
      files.map((f) => f.path),
    );
    for (const f of files) {
      const row = rows.find((r) => r.path === f.path)!;
      expect(await objectSha256(minio, row.objectKey!)).toBe(f.sha256);
    }
    const last = daemon.journal.lastSeq;
    await waitFor(
      () => new Set(central.events(ROBOT).map((r) => r.seq)).size >= last,
      'central to hold every event',
      120_000,
    );
    const firsts: number[] = [];
    const seen = new Set<number>();
    for (const r of central.events(ROBOT)) {
      if (seen.has(r.seq)) continue;
      seen.add(r.seq);
      firsts.push(r.seq);
    }
    expect(firsts).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    // 37 to 68 s on a 2-core machine: its waits bound it.
  }, 300_000);
});
