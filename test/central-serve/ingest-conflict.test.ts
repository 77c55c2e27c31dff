import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../daemon/log.ts';
import { EventIngest, type IngestLake } from '../../central/events-ingest.ts';
import type { EventsPayload } from '../../central/events-payload.ts';
import { FleetLake } from '../../central/lake.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { tempDir } from '../helpers/cli.ts';
import type { Broker } from '../helpers/mosquitto.ts';
import { startPostgres } from '../helpers/postgres.ts';
import { eventsPayload, serveSettings } from './fixtures.ts';

const cleanups = cleanupStack(afterAll);

/** Two serve processes' lakes on one PostgreSQL catalog (no broker: the ingests are fed directly). */
async function twoLakes(): Promise<[FleetLake, FleetLake]> {
  const pg = await startPostgres();
  cleanups.push(() => pg.cleanup());
  const dir = tempDir('ingest-conflict-');
  cleanups.push(() => dir.cleanup());
  const settings = serveSettings({ broker: { url: 'mqtt://127.0.0.1:1883' } as Broker, pg, dir: dir.path });
  const a = await FleetLake.open(settings);
  cleanups.push(() => a.close());
  const b = await FleetLake.open(settings);
  cleanups.push(() => b.close());
  return [a, b];
}

const payload = (first: number, last: number) => JSON.parse(eventsPayload('r1', 'j1', first, last)) as EventsPayload;

async function seqs(lake: FleetLake): Promise<unknown[][]> {
  return (await lake.query('SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM events')).rows;
}

describe('central serve: an events commit run again', () => {
  it('after a conflict with another process, keeps only the seqs the other did not commit, its records staged once', async () => {
    const [lakeA, lakeB] = await twoLakes();
    const ingestB = new EventIngest({ lake: lakeB, log: silentLogger(), commitMs: 1, commitRows: 1 });
    let bCommitted: Promise<number> | undefined;
    // A's first transaction has done its work (its cursor read when B had committed nothing) and commits only
    // once B committed an overlapping batch: DuckLake refuses A's commit, and A runs it again.
    const lake: IngestLake = {
      between: (work) => lakeA.between(work),
      transaction: (work) =>
        lakeA.transaction(async (c) => {
          const out = await work(c);
          if (!bCommitted) {
            bCommitted = ingestB.add(payload(50, 150));
            expect(await bCommitted).toBe(0);
          }
          return out;
        }),
    };
    const ingestA = new EventIngest({ lake, log: silentLogger(), commitMs: 1, commitRows: 1 });
    cleanups.push(
      () => ingestA.close(),
      () => ingestB.close(),
    );
    expect(await ingestA.add(payload(1, 100))).toBe(0);
    expect(ingestA.counts).toMatchObject({ conflicts: 1, commits: 1, events_written: 49, events_duplicate: 51 });
    expect(ingestB.counts).toMatchObject({ commits: 1, events_written: 101 });
    expect(await seqs(lakeA)).toEqual([['150', '150', '1', '150']]);
  });

  it('after a failed commit (the catalog away), stages its records anew: each seq once', async () => {
    const [lakeA] = await twoLakes();
    let failures = 1;
    const lake: IngestLake = {
      between: (work) => lakeA.between(work),
      transaction: (work) =>
        lakeA.transaction(async (c) => {
          const out = await work(c);
          if (failures-- > 0) throw new Error('the catalog went away');
          return out;
        }),
    };
    const ingest = new EventIngest({ lake, log: silentLogger(), commitMs: 1, commitRows: 1 });
    cleanups.push(() => ingest.close());
    expect(await ingest.add(payload(1, 100))).toBe(0);
    expect(ingest.counts).toMatchObject({ failed_commits: 1, commits: 1, events_written: 100 });
    expect(await seqs(lakeA)).toEqual([['100', '100', '1', '100']]);
  });

  it('keeps the cursors of its last commit while no other process commits, and reads them again once one did', async () => {
    const [lakeA, lakeB] = await twoLakes();
    const ingestA = new EventIngest({ lake: lakeA, log: silentLogger(), commitMs: 1, commitRows: 1 });
    const ingestB = new EventIngest({ lake: lakeB, log: silentLogger(), commitMs: 1, commitRows: 1 });
    cleanups.push(
      () => ingestA.close(),
      () => ingestB.close(),
    );
    expect(await ingestA.add(payload(1, 100))).toBe(0);
    expect(await ingestA.add(payload(51, 120))).toBe(0);
    // The second commit took r1's cursor from the first: no read.
    expect(ingestA.counts).toMatchObject({ commits: 2, cursor_reads: 1, events_written: 120, events_duplicate: 50 });
    // B commits after A's last commit: A's cursor of r1 is stale (1..120), the lake's is 1..200.
    expect(await ingestB.add(payload(101, 200))).toBe(0);
    expect(await ingestA.add(payload(150, 250))).toBe(0);
    expect(ingestA.counts).toMatchObject({ commits: 3, cursor_reads: 2, events_written: 170, events_duplicate: 101 });
    expect(await seqs(lakeA)).toEqual([['250', '250', '1', '250']]);
  });
});
