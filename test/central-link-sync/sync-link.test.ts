import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GRANTS_SCHEMA } from '../../central-link/sync-protocol.ts';
import { listSyncFiles } from '../../daemon/lakehouse/sync-files.ts';
import { runMain } from '../helpers/cli.ts';
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

describe('bulk sync over the central link', () => {
  const cleanups = cleanupStack();

  it('keeps files awaiting while offline and uploads them all once the broker is back: single and multipart, equal by sha256', async () => {
    const { broker, minio, central } = await syncPeers(cleanups);
    await broker.stop();
    const { daemon, dataDir } = await syncDaemon(cleanups, broker.url, { online: false });
    const files = await addSyncFiles(dataDir, [300 * 1024, 12 * MiB]);
    await waitFor(() => syncStatus(daemon).awaiting.files === 2, 'the files to be counted as awaiting');
    expect(central.state.offers).toEqual([]);
    expect((await listSyncFiles(dataDir)).map((r) => r.state)).toEqual(['awaiting', 'awaiting']);
    await broker.restart();
    const rows = await waitStored(
      dataDir,
      files.map((f) => f.path),
    );
    for (const f of files) {
      const row = rows.find((r) => r.path === f.path)!;
      expect(row.sha256).toBe(f.sha256);
      expect(await objectSha256(minio, row.objectKey!)).toBe(f.sha256);
    }
    expect(central.state.completes.find((c) => c.size === 12 * MiB)?.parts?.length).toBe(3); // 5 + 5 + 2 MiB
    await waitFor(() => syncStatus(daemon).awaiting.files === 0, 'sync status to count nothing awaiting');
  });

  it('offers nothing while paused from the CLI, and uploads on resume; central can pause it too', async () => {
    const { broker, central } = await syncPeers(cleanups);
    const { daemon, dataDir } = await syncDaemon(cleanups, broker.url, {
      config: { api: { enabled: true, port: 0 } },
    });
    const api = JSON.parse(readFileSync(join(dataDir, 'run', 'api.json'), 'utf8')) as { url: string };
    const paused = await runMain(['sync', 'pause', '--reason', 'metered link', '--url', api.url, '--json']);
    expect(paused.code).toBe(0);
    expect(JSON.parse(paused.stdout)).toMatchObject({ enabled: true, paused: { by: 'local', reason: 'metered link' } });
    const files = await addSyncFiles(dataDir, [100 * 1024, 200 * 1024]);
    await waitFor(() => syncStatus(daemon).awaiting.files === 2, 'the files to be counted as awaiting');
    // The pass that counted them also decided on offers: paused, it made none. The pass after it counts by state
    // what that one did (an offer marks its file offered before it is sent).
    const counted = syncStatus(daemon).passes;
    await waitFor(() => syncStatus(daemon).passes >= counted + 2, 'a whole pass after the one that counted them');
    expect(syncStatus(daemon).states.offered).toBeUndefined();
    expect(syncStatus(daemon).states.awaiting?.files).toBe(2);
    expect(central.state.offers).toEqual([]);
    const status = await runMain(['sync', 'status', '--url', api.url]);
    expect(status.stdout).toContain('paused (local: metered link)');
    expect(status.stdout).toContain('awaiting: 2 file(s)');
    const metrics = await (await fetch(`${api.url}/metrics`)).text();
    expect(metrics).toMatch(/^auraison_sync_files_awaiting 2$/m);
    expect(metrics).toMatch(/^auraison_sync_paused 1$/m);
    expect((await runMain(['sync', 'resume', '--url', api.url])).code).toBe(0);
    await waitStored(
      dataDir,
      files.map((f) => f.path),
    );
    await central.send(ROBOT, { schema: GRANTS_SCHEMA, type: 'pause', reason: 'storage full', ts: '1' });
    await waitFor(() => syncStatus(daemon).paused?.by === 'central', 'central pause to show in status');
    await central.send(ROBOT, { schema: GRANTS_SCHEMA, type: 'resume', ts: '2' });
    await waitFor(() => syncStatus(daemon).paused === null, 'central resume to show in status');

    // Central pauses again: a resume here lifts only the robot's own pause, and says so; --central lifts central's.
    await central.send(ROBOT, { schema: GRANTS_SCHEMA, type: 'pause', reason: 'over budget', ts: '3' });
    await waitFor(() => syncStatus(daemon).paused?.by === 'central', 'central pause');
    const plain = await runMain(['sync', 'resume', '--url', api.url]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/^bulk uploads are still paused by central; `sync resume --central` lifts/);
    expect(plain.stdout).toContain('paused (central: over budget)');
    const lifted = await runMain(['sync', 'resume', '--central', '--url', api.url]);
    expect(lifted.code).toBe(0);
    expect(lifted.stdout).toMatch(/^bulk uploads resumed\nbulk sync: running/);
    expect(syncStatus(daemon).paused).toBeNull();
    // `--central` is for resume only.
    expect((await runMain(['sync', 'pause', '--central', '--url', api.url])).code).toBe(2);
  });

  it('takes later, not_wanted and expired grants: waits and offers again, counts it done, asks a fresh grant for the same upload', async () => {
    const { broker, minio, central } = await syncPeers(cleanups, { answer: 'later' });
    const { dataDir } = await syncDaemon(cleanups, broker.url);
    const [later] = await addSyncFiles(dataDir, [64 * 1024], 'later');
    await waitFor(
      () => central.state.offers.filter((o) => o.path === later!.path).length >= 2,
      'a second offer after later',
    );
    central.answerWith('not_wanted');
    await waitFor(async () => (await listSyncFiles(dataDir))[0]?.state === 'not_wanted', 'the file to be not wanted');
    central.answerWith('expired');
    const [big] = await addSyncFiles(dataDir, [11 * MiB], 'expired');
    await waitFor(
      () =>
        central.state.offers.some((o) => o.path === big!.path && (o.reason === 'expired' || o.reason === 'forbidden')),
      'an offer asking a fresh grant',
    );
    central.answerWith('grant');
    const again = central.state.offers.find((o) => o.path === big!.path && o.reason !== 'new');
    expect(again?.upload_id).toBeTruthy(); // the same multipart upload, found again by central
    const rows = await waitStored(dataDir, [big!.path]);
    expect(await objectSha256(minio, rows.find((r) => r.path === big!.path)!.objectKey!)).toBe(big!.sha256);
  });

  it('offers a file central rejected again once its hash still matches, and gets it stored', async () => {
    const { broker, minio, central } = await syncPeers(cleanups, { rejectCompletes: 1 });
    const { dataDir } = await syncDaemon(cleanups, broker.url);
    const [file] = await addSyncFiles(dataDir, [9 * MiB]);
    const rows = await waitStored(dataDir, [file!.path]);
    expect(central.state.rejected).toHaveLength(1);
    expect(central.state.offers.filter((o) => o.path === file!.path).map((o) => o.reason)).toEqual(['new', 'rejected']);
    expect(await objectSha256(minio, rows[0]!.objectKey!)).toBe(file!.sha256);
  });
});
