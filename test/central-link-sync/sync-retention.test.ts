import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyRetention } from '../../daemon/lakehouse/retention.ts';
import { listSyncFiles } from '../../daemon/lakehouse/sync-files.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { startSimDaemon } from '../helpers/daemon.ts';
import { RETENTION_DEFAULTS } from '../helpers/test-lakehouse.ts';
import { waitFor } from '../helpers/wait.ts';
import { ROBOT, syncConfig, syncPeers } from './sync-harness.ts';
import { PORTS } from '../../daemon/contract/index.ts';

describe('bulk sync and retention', () => {
  const cleanups = cleanupStack();

  it('reports a split retention deleted before upload as lost, and answers a grant for it that comes later with lost, without a crash', async () => {
    const { broker, central } = await syncPeers(cleanups, { answer: 'ignore' });
    const { daemon, dir } = await startSimDaemon(cleanups, {
      speed: 4,
      config: {
        ...syncConfig(broker.url, { recorder: { enabled: true, min_free_bytes: 0 } }),
        api: { enabled: false },
      },
    });
    const dataDir = join(dir, 'data');
    const recorder = daemon.ports.get(PORTS.recorder)!;
    await waitFor(async () => (await recorder.split()) !== undefined, 'a split with messages');
    const offer = await waitFor(
      () => central.state.offers.some((o) => o.kind === 'bag'),
      'the split to be offered',
    ).then(() => central.state.offers.find((o) => o.kind === 'bag')!);
    // Central has said nothing: over max_bytes, retention has no other choice than the unsynced split.
    const report = await applyRetention({
      dataDir,
      settings: { ...RETENTION_DEFAULTS, max_bytes: 1 },
      syncRequired: true,
      recording: () => daemon.ports.get(PORTS.recording)!.active(),
    });
    expect(report.deleted.map((d) => d.file)).toContain(join(dataDir, offer.path));
    await waitFor(
      () => central.state.lost.some((l) => l.file_id === offer.file_id),
      'central to hear the split is lost',
    );
    const lost = central.state.lost.find((l) => l.file_id === offer.file_id)!;
    expect(lost).toMatchObject({ path: offer.path, size: offer.size });
    expect(lost.reason).toMatch(/retention.*max_bytes/);
    await central.grant(ROBOT, offer);
    await waitFor(
      () => central.state.lost.filter((l) => l.file_id === offer.file_id).length >= 2,
      'a lost answer to the late grant',
    );
    expect(daemon.status().components.central?.state).toBe('running');
    const row = (await listSyncFiles(dataDir)).find((r) => r.path === offer.path);
    expect(row === undefined || row.state === 'lost').toBe(true); // reported rows of deleted files are forgotten
  });
});
