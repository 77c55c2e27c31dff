import { describe, expect, it } from 'vitest';
import { cleanupStack } from '../helpers/cleanups.ts';
import { waitFor } from '../helpers/wait.ts';
import { addSyncFiles, MiB, objectSha256, ROBOT, syncDaemon, syncPeers, waitStored } from './sync-harness.ts';

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
    // Each round: the storage dies (kill -9) and comes back, then the broker stops and comes back.
    for (let round = 0; round < 3; round++) {
      await new Promise((r) => setTimeout(r, 1500));
      await minio.stop('SIGKILL');
      await new Promise((r) => setTimeout(r, 1000));
      await minio.restart();
      await broker.stop();
      await new Promise((r) => setTimeout(r, 1000));
      await broker.restart();
    }
    await burst;
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
    // About 21 s on an idle 2-core machine; over 60 s (vitest's default here) beside a loaded one: its waits bound it.
  }, 300_000);
});
