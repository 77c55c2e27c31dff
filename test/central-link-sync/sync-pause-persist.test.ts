import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import { Budget } from '../../central-link/sync/budget.ts';
import { syncPausePath } from '../../central-link/sync/pause-state.ts';
import { SyncManager } from '../../central-link/sync/sync-manager.ts';
import { GRANTS_SCHEMA } from '../../central-link/sync-protocol.ts';
import { CentralSyncConfig } from '../../daemon/config/sections/central.ts';
import { listSyncFiles } from '../../daemon/lakehouse/sync-files.ts';
import { restartableDaemon } from '../central/central-harness.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { waitFor } from '../helpers/wait.ts';
import { addSyncFiles, syncPeers, syncStatus, waitStored } from './sync-harness.ts';

type SyncSettings = ConstructorParameters<typeof SyncManager>[0]['settings'];
const SETTINGS: SyncSettings = { ...(Value.Default(CentralSyncConfig, {}) as SyncSettings), enabled: true };

/** A SyncManager on `dataDir` with no peers: what it publishes goes to `sent`, what it logs to `logs`. */
function manager(dataDir: string, sent: { type: string }[] = [], logs: string[] = []) {
  const log = pino({ level: 'info' }, { write: (line: string) => void logs.push(line) });
  const budget = new Budget({ bytesPerS: 0 });
  const sync = new SyncManager({
    dataDir,
    robot: 'tb3-1',
    fleet: 'lab',
    settings: SETTINGS,
    budget,
    publish: (payload) => {
      sent.push(JSON.parse(payload) as { type: string });
      return Promise.resolve();
    },
    log,
    tickMs: 20,
  });
  return { sync, budget };
}

/** Starts it online and waits for a pass that saw `files` awaiting; stop() then waits for that pass's offers. */
async function startCounting(sync: SyncManager, files: number): Promise<void> {
  sync.start();
  sync.online();
  await waitFor(() => sync.status().awaiting.files === files, `${files} file(s) counted as awaiting`);
}

const grants = (message: Record<string, unknown>) =>
  Buffer.from(JSON.stringify({ schema: GRANTS_SCHEMA, ts: '1', ...message }));

describe('a bulk sync pause across restarts', () => {
  const cleanups = cleanupStack();
  const dataDir = (): string => {
    const dir = tempDir('sync-pause-');
    cleanups.push(dir.cleanup);
    return dir.path;
  };

  it('keeps a pause made here across a restart: nothing is offered until it is resumed', async () => {
    const dir = dataDir();
    await addSyncFiles(dir, [1024, 2048]);
    const first = manager(dir);
    first.sync.start();
    await first.sync.pause('local', 'metered link');
    await first.sync.close();
    expect(JSON.parse(readFileSync(syncPausePath(dir), 'utf8'))).toMatchObject({ local: { reason: 'metered link' } });

    const sent: { type: string }[] = [];
    const logs: string[] = [];
    const second = manager(dir, sent, logs);
    await startCounting(second.sync, 2);
    await second.sync.close();
    expect(sent).toEqual([]);
    expect((await listSyncFiles(dir)).map((r) => r.state)).toEqual(['awaiting', 'awaiting']);
    const paused = second.sync.status().paused;
    expect(paused).toMatchObject({ by: 'local', reason: 'metered link' });
    expect(paused?.since).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(second.budget.stats().bulk_paused).toBe('paused here: metered link');
    expect(logs.join('')).toContain(`bulk uploads paused since ${paused!.since} by local: metered link`);

    const third = manager(dir, sent);
    await startCounting(third.sync, 2);
    await third.sync.resume('local');
    await waitFor(() => sent.filter((m) => m.type === 'offer').length === 2, 'both files offered after the resume');
    await third.sync.close();
    expect(existsSync(syncPausePath(dir))).toBe(false);
    const fourth = manager(dir);
    fourth.sync.start();
    expect(fourth.sync.status().paused).toBeNull();
    await fourth.sync.close();
  });

  it("keeps central's pause across a restart; a resume here leaves it, central's resume lifts it", async () => {
    const dir = dataDir();
    await addSyncFiles(dir, [1024]);
    const first = manager(dir);
    first.sync.start();
    await first.sync.handle(grants({ type: 'pause', reason: 'storage full' }), true);
    await first.sync.pause('local', 'metered link');
    await first.sync.close(); // waits for the message's work, the pause's write with it

    const sent: { type: string }[] = [];
    const second = manager(dir, sent);
    await startCounting(second.sync, 1);
    expect(second.sync.status().paused).toMatchObject({ by: 'local' });
    await second.sync.resume('local');
    expect(second.sync.status().paused).toMatchObject({ by: 'central', reason: 'storage full' });
    await second.sync.close();
    expect(sent).toEqual([]);

    const third = manager(dir, sent);
    await startCounting(third.sync, 1);
    expect(third.sync.status().paused).toMatchObject({ by: 'central', reason: 'storage full' });
    await third.sync.handle(grants({ type: 'resume' }), true);
    await waitFor(() => sent.some((m) => m.type === 'offer'), "the file offered after central's resume");
    await third.sync.close();
    expect(third.sync.status().paused).toBeNull();
    expect(existsSync(syncPausePath(dir))).toBe(false);
  });

  it('takes a pause file it cannot read as no pause, with a warning naming the file', async () => {
    for (const text of ['{"local": {"reason": "cut sh', '{"local": {"reason": 3}}', '']) {
      const dir = dataDir();
      mkdirSync(join(dir, 'state'), { recursive: true });
      writeFileSync(syncPausePath(dir), text);
      const sent: { type: string }[] = [];
      const logs: string[] = [];
      const { sync } = manager(dir, sent, logs);
      await addSyncFiles(dir, [1024]);
      await startCounting(sync, 1);
      await waitFor(() => sent.some((m) => m.type === 'offer'), 'the file offered');
      await sync.close();
      expect(sync.status().paused).toBeNull();
      const warning = logs.map((l) => JSON.parse(l) as { level: number; msg: string }).find((l) => l.level === 40);
      expect(warning?.msg).toContain(`the bulk pause file ${syncPausePath(dir)} cannot be read`);
    }
  });

  it('pauses at once when the pause file cannot be written, and says so as the last error', async () => {
    const dir = dataDir();
    writeFileSync(join(dir, 'state'), 'a file where the state directory belongs');
    const logs: string[] = [];
    const { sync, budget } = manager(dir, [], logs);
    sync.start();
    const written = sync.pause('local', 'metered link');
    expect(budget.stats().bulk_paused).toBe('paused here: metered link');
    await written;
    const status = sync.status();
    expect(status.paused).toMatchObject({ by: 'local', reason: 'metered link' });
    expect(status.last_error).toContain(`cannot write ${syncPausePath(dir)}`);
    expect(logs.some((l) => l.includes('"level":50') && l.includes('sync-pause.json'))).toBe(true);
    await sync.close();
  });

  it('keeps `sync pause` across a daemon restart (status says since when) until `sync resume`', async () => {
    const { broker, central } = await syncPeers(cleanups);
    const robot = restartableDaemon(
      broker.url,
      { api: { enabled: true, port: 0 } },
      { sync: { enabled: true, offers_per_s: 50 } },
    );
    cleanups.push(robot.cleanup);
    const data = join(robot.dir, 'data');
    const api = () => (JSON.parse(readFileSync(join(data, 'run', 'api.json'), 'utf8')) as { url: string }).url;
    await robot.start();
    expect((await runMain(['sync', 'pause', '--reason', 'metered link', '--url', api()])).code).toBe(0);
    await robot.stop();
    const files = await addSyncFiles(data, [100 * 1024, 200 * 1024]);

    const daemon = await robot.start();
    await waitFor(() => syncStatus(daemon).awaiting.files === 2, 'the files to be counted as awaiting');
    const status = await runMain(['sync', 'status', '--url', api()]);
    expect(status.stdout).toMatch(/paused \(local: metered link\) since \d{4}-\d\d-\d\dT/);
    await robot.stop(); // waits for the pass that counted them, and its offers
    expect((await listSyncFiles(data)).map((r) => r.state)).toEqual(['awaiting', 'awaiting']);
    expect(central.state.offers).toEqual([]);

    await robot.start();
    expect((await runMain(['sync', 'resume', '--url', api()])).code).toBe(0);
    await waitStored(
      data,
      files.map((f) => f.path),
    );
  });
});
