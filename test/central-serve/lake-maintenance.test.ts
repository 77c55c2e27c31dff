import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../daemon/log.ts';
import { EventIngest } from '../../central/events-ingest.ts';
import type { EventsPayload } from '../../central/events-payload.ts';
import { FleetLake } from '../../central/lake.ts';
import { LakeMaintenance } from '../../central/lake-maintenance.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { tempDir } from '../helpers/cli.ts';
import type { Broker } from '../helpers/mosquitto.ts';
import { startPostgres } from '../helpers/postgres.ts';
import { waitFor } from '../helpers/wait.ts';
import { eventsPayload, serveSettings } from './fixtures.ts';

const cleanups = cleanupStack(afterAll);

/** The parquet files under the lake's data dir. */
function parquetFiles(dir: string): number {
  return readdirSync(dir, { recursive: true }).filter((f) => String(f).endsWith('.parquet')).length;
}

/** A fleet lake on a PostgreSQL of its own, its data in a temp dir (no broker: the ingest is fed directly). */
async function openLake() {
  const pg = await startPostgres();
  cleanups.push(() => pg.cleanup());
  const dir = tempDir('lake-maintenance-');
  cleanups.push(() => dir.cleanup());
  const settings = serveSettings({ broker: { url: 'mqtt://127.0.0.1:1883' } as Broker, pg, dir: dir.path });
  const lake = await FleetLake.open(settings);
  cleanups.push(() => lake.close());
  return { pg, dir, lake };
}

describe("central serve: the lake's upkeep", () => {
  it('merges the small files commits left, expires old snapshots and deletes the files they alone used; every event once', async () => {
    const { dir, lake } = await openLake();
    const ingest = new EventIngest({ lake, log: silentLogger(), commitMs: 1, commitRows: 1 });
    cleanups.push(() => ingest.close());
    // One commit a payload: a parquet file each.
    for (let i = 0; i < 12; i++) {
      const payload = JSON.parse(eventsPayload(`r${i % 3}`, 'j1', i * 50 + 1, i * 50 + 50)) as EventsPayload;
      expect(await ingest.add(payload)).toBe(0);
    }
    const data = join(dir.path, 'lake-data');
    const onDisk = parquetFiles(data);
    const maintenance = new LakeMaintenance({ lake, log: silentLogger(), everyMs: 0, keepMs: 1000 });
    await maintenance.run();
    const merged = Date.now();
    expect(maintenance.counts).toMatchObject({ runs: 1, failed: 0, files_before: 12, files_after: 1 });
    // The merged files are deleted once no snapshot younger than keepMs uses them.
    await waitFor(() => Date.now() > merged + 1000, 'the merge to be older than keepMs');
    await maintenance.run();
    expect(maintenance.counts).toMatchObject({ runs: 2, failed: 0, files_after: 1 });
    expect(parquetFiles(data)).toBeLessThanOrEqual(onDisk - 11);
    const { rows } = await lake.query(
      'SELECT robot, count(*), count(DISTINCT seq) FROM events GROUP BY robot ORDER BY robot',
    );
    expect(rows).toEqual([
      ['r0', '200', '200'],
      ['r1', '200', '200'],
      ['r2', '200', '200'],
    ]);
    // Commits go on after it.
    expect(await ingest.add(JSON.parse(eventsPayload('r0', 'j1', 1, 700)) as EventsPayload)).toBe(0);
    expect((await lake.query('SELECT count(*), count(DISTINCT (robot, seq)) FROM events')).rows).toEqual([
      ['1100', '1100'],
    ]);
  });

  it('runs on its schedule, and says why a run failed without throwing', async () => {
    const { pg, lake } = await openLake();
    const maintenance = new LakeMaintenance({ lake, log: silentLogger(), everyMs: 100, keepMs: 60_000 });
    maintenance.start();
    await waitFor(() => maintenance.counts.runs >= 2, 'two runs on the schedule');
    await maintenance.close();
    // The catalog gone: the run fails, says why, and the next one is tried on schedule.
    await pg.stop('SIGKILL');
    await maintenance.run();
    expect(maintenance.counts.failed).toBe(1);
    expect(maintenance.counts.last_error).toBeTruthy();
  });
});
