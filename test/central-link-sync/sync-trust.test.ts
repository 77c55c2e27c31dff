import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CommandSigner } from '../../central/command-signer.ts';
import { GRANTS_SCHEMA, RESEND_SCHEMA } from '../../central-link/index.ts';
import { listSyncFiles } from '../../daemon/lakehouse/sync-files.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { centralClient } from '../helpers/mosquitto.ts';
import { commandSignature, publishCommand } from '../helpers/command-key.ts';
import { countingListener } from '../helpers/counting-listener.ts';
import { waitFor, waitForValue } from '../helpers/wait.ts';

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
    await waitFor(() => syncStatus(daemon).refused.grants > 0, 'the grant refused');
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
    expect(syncStatus(daemon).refused.stored).toBe(0);
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
    await waitFor(() => syncStatus(daemon).refused.stored > 0, "the 'stored' refused");
    expect((await listSyncFiles(dataDir)).find((r) => r.path === file!.path)?.state).not.toBe('stored');
  });

  /** A single-PUT grant for `fileId` to `url`, as central's grants topic carries it. */
  const grantTo = (fileId: string, url: string, n: number) =>
    JSON.stringify({
      schema: GRANTS_SCHEMA,
      type: 'grant',
      mode: 'single',
      file_id: fileId,
      grant_id: `g-${n}`,
      object_key: `fleet/${ROBOT}/x-${n}`,
      expires_at: Date.now() + 600_000,
      put: { url },
      ts: String(n),
    });
  const TOPIC = `auraison/${FLEET}/${ROBOT}/grants`;

  /**
   * A robot with one file awaiting upload, offered to a central that answers nothing, and another client on the
   * broker: what a grant names is then the test's alone.
   */
  async function offeredFile(options: Parameters<typeof syncDaemon>[2]) {
    const { broker } = await syncPeers(cleanups, { answer: 'ignore' });
    const { daemon, dataDir } = await syncDaemon(cleanups, broker.url, options);
    const [file] = await addSyncFiles(dataDir, [4096]);
    const row = await waitForValue(
      async () => (await listSyncFiles(dataDir)).find((r) => r.path === file!.path),
      'the row',
    );
    const other = await centralClient(broker.url, []);
    cleanups.push(other.end);
    return { daemon, row, client: other.client };
  }

  it('refuses signed grants to look-alike storage (host, port, scheme, path prefix, a path that climbs out): no PUT leaves', async () => {
    const storage = await countingListener(cleanups);
    const elsewhere = await countingListener(cleanups);
    const { daemon, row, client } = await offeredFile({ sync: { storage_origins: [`${storage.url}/fleet/`] } });
    const lookAlikes = [
      `http://localhost:${storage.port}/fleet/x`, // the same listener under another host name
      `http://localhost.:${storage.port}/fleet/x`, // a trailing dot
      `http://127.0.0.1:${elsewhere.port}/fleet/x`, // another port
      `https://127.0.0.1:${storage.port}/fleet/x`, // another scheme
      `${storage.url}/fleet-other/x`, // a bucket whose name starts like the pinned one
      `${storage.url}/fleet/../fleet-other/x`, // a path that climbs out of the pinned prefix
      `${storage.url}/fleetx`, // the prefix without its slash
      `http://127.0.0.1:${storage.port}.evil/fleet/x`, // a port that is no port
    ];
    for (const [i, url] of lookAlikes.entries()) await publishCommand(client, TOPIC, grantTo(row.fileId, url, i));
    const refused = () => syncStatus(daemon).refused.grants;
    await waitFor(() => refused() === lookAlikes.length, 'every look-alike grant refused');
    expect([storage.hits, elsewhere.hits]).toEqual([[], []]);
    expect(syncStatus(daemon).last_error).toMatch(/under none of central\.sync\.storage_origins|does not parse/);
    // The control: a grant under the pinned prefix does reach the listener, so the silence above is a refusal.
    await publishCommand(client, TOPIC, grantTo(row.fileId, `${storage.url}/fleet/x`, 99));
    await waitFor(() => storage.hits.length > 0, 'the PUT to the pinned storage');
    expect(storage.hits[0]).toEqual({ method: 'PUT', path: '/fleet/x' });
    expect(elsewhere.hits).toEqual([]);
  });

  it('never takes an unsigned grant to storage it does not pin, even on a robot that takes unsigned commands', async () => {
    const listener = await countingListener(cleanups);
    const { daemon, row, client } = await offeredFile({
      central: { command_keys: [], require_signed_commands: false },
    });
    await client.publishAsync(TOPIC, grantTo(row.fileId, `${listener.url}/fleet/x`, 1), { qos: 1 });
    await waitFor(() => syncStatus(daemon).refused.grants === 1, 'the unsigned grant refused');
    expect(syncStatus(daemon).last_error).toMatch(/central did not sign it: with central\.sync\.storage_origins empty/);
    expect(listener.hits).toEqual([]);
  });

  it('refuses a forged pause, resend and grant at the signature check: sync goes on, nothing is sent', async () => {
    const listener = await countingListener(cleanups);
    const { daemon, row, client: attacker } = await offeredFile({});
    const pause = JSON.stringify({ schema: GRANTS_SCHEMA, type: 'pause', reason: 'forged', ts: '1' });
    const resend = JSON.stringify({ schema: RESEND_SCHEMA, journal_id: 'j', from_seq: 1, to_seq: 1_000_000 });
    const grant = grantTo(row.fileId, `${listener.url}/fleet/x`, 1);
    const other = new CommandSigner({ key: generateKeyPairSync('ed25519').privateKey });
    for (const [topic, payload] of [
      [TOPIC, pause],
      [`auraison/${FLEET}/${ROBOT}/resend`, resend],
      [TOPIC, grant],
    ] as const) {
      // Unsigned, then signed with a key that is not central's.
      await attacker.publishAsync(topic, payload, { qos: 1 });
      const userProperties = commandSignature(topic, payload, other);
      await attacker.publishAsync(topic, payload, { qos: 1, properties: { userProperties } });
    }
    const refused = () => (daemon.status().components.central!.details as { refused: { total: number } }).refused;
    await waitFor(() => refused().total === 6, 'the six forged commands refused');
    const signatures = (daemon.status().components.central!.details as { signatures: Record<string, number> })
      .signatures;
    expect(signatures).toMatchObject({ unsigned: 3, bad_signature: 3, verified: 0 });
    expect(syncStatus(daemon).paused).toBeNull();
    expect(listener.hits).toEqual([]);
    const outbox = (daemon.status().components.central!.details as { outbox: { resent_records: number } }).outbox;
    expect(outbox.resent_records).toBe(0);
  });
});
