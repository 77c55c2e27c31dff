import { copyFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import type { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { lakehousePaths, withCatalog } from '../../daemon/lakehouse/catalog.ts';
import { indexEvents } from '../../daemon/lakehouse/events-indexer.ts';
import { importBag } from '../../daemon/lakehouse/importer.ts';
import { quoteString } from '../../daemon/lakehouse/sql-text.ts';
import type { MemoryJournal } from './memory-journal.ts';
import { recordSmallBag } from './recorded-bag.ts';

/**
 * A lakehouse holding `count` recorded splits, each indexed on its own as the daemon indexes them (a row of
 * `bags`, one parquet file of `messages` and one of `/chatter`, a .mcap under <data_dir>/bags), committed
 * one after the other. The first is recorded and indexed for real; the others are copies of it, each with
 * its own segment id (in its rows too) and its messages 10 s later than the one before, as the next split
 * would be: indexing one split takes about 0.3 s, a copy a few ms. Returns the splits, oldest first.
 */
export async function recordedSegments(
  dataDir: string,
  registry: DefinitionsRegistry,
  count: number,
): Promise<{ bag: string; files: string[]; ids: string[] }> {
  const {
    bag,
    files: [first],
  } = await recordSmallBag(dataDir, registry, 40);
  const report = await importBag({ path: bag, only: [first!], dataDir, robot: 'r1', registry, source: 'recorder' });
  const id0 = report.segments[0]!.segmentId;
  const { catalog, tables } = lakehousePaths(dataDir);
  const files = [first!];
  const ids = [id0];
  await withCatalog(catalog, async (conn) => {
    const [parquet] = (
      await conn.runAndReadAll(`SELECT parquet_files FROM bags WHERE segment_id = ${quoteString(id0)}`)
    ).getRowsJson()[0] as [string[]];
    for (let i = 1; i < count; i++) {
      const id = `${id0.slice(0, 56)}${String(i).padStart(8, '0')}`;
      const shift = BigInt(i) * 10_000_000_000n;
      const file = join(bag, basename(first!).replace(/_0\.mcap$/, `_${i}.mcap`));
      copyFileSync(first!, file);
      const copies: string[] = [];
      for (const rel of parquet) {
        const copy = join(dirname(rel), `part-${randomUUID()}.parquet`);
        await conn.run(
          `COPY (SELECT * REPLACE (${quoteString(id)} AS segment_id, log_time + ${shift} AS log_time) FROM read_parquet(${quoteString(join(tables, rel))}, hive_partitioning = false)) TO ${quoteString(join(tables, copy))} (FORMAT parquet)`,
        );
        copies.push(copy);
      }
      await conn.run(
        `INSERT INTO bags SELECT * REPLACE (${quoteString(id)} AS segment_id, ${quoteString(id)} AS checksum, ${quoteString(file)} AS path, [${copies.map(quoteString).join(', ')}]::VARCHAR[] AS parquet_files, start_ns + ${shift} AS start_ns, end_ns + ${shift} AS end_ns, nextval('catalog_seq') AS seq) FROM bags WHERE segment_id = ${quoteString(id0)}`,
      );
      files.push(file);
      ids.push(id);
    }
  });
  return { bag, files, ids };
}

/** Makes what is in the catalog look indexed (and written) `seconds` ago, as compaction's age reads it. */
export async function ageCatalog(dataDir: string, seconds: number, where = 'true'): Promise<void> {
  await withCatalog(lakehousePaths(dataDir).catalog, async (conn) => {
    await conn.run(`UPDATE bags SET indexed_at = indexed_at - to_seconds(${seconds}) WHERE ${where}`);
    await conn.run(`UPDATE event_files SET written_at = written_at - to_seconds(${seconds})`);
  });
}

/** `flushes` events flushes of `perFlush` events each into the events table: one parquet file each. */
export async function eventFlushes(
  dataDir: string,
  journal: MemoryJournal,
  flushes: number,
  perFlush = 3,
): Promise<void> {
  for (let i = 0; i < flushes; i++) {
    for (let e = 0; e < perFlush; e++) {
      const event_id = `e${journal.lastSeq + 1}`;
      await journal.append('agent_event', { event_id, run_id: 'r', kind: 'note', payload: { i: e } });
    }
    await indexEvents({ journal, dataDir, robot: 'r1' });
  }
}
