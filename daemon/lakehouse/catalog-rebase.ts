import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { lakehousePaths, withCatalog } from './catalog.ts';
import { quoteString } from './sql-text.ts';

export interface RebaseReport {
  /** The data dir's former paths found in the catalog (none: nothing to do). */
  from: string[];
  /** event_files rows rewritten. */
  eventFiles: number;
  /** bags rows (segments) rewritten. */
  segments: number;
}

// Where the catalog's rows put files under a data dir `d`: the events table's parquet at
// `d/lakehouse/tables/events/robot=<id>/date=<day>/part-<uuid>.parquet`, recorded splits at `d/bags/<bag>/<split>`.
const EVENTS_FILE = /^(\/.*)\/lakehouse\/tables\/events\/[^/]+\/[^/]+\/[^/]+$/;
const RECORDED_SPLIT = /^(\/.*)\/bags\/[^/]+\/[^/]+$/;

/**
 * The catalog lists the events table's parquet files and recorded splits by absolute path under the data
 * dir. After the data dir is moved or copied (a new disk, a restored backup, a container mounting it
 * elsewhere), those rows name the old place: the lakehouse would take the events parquet for a killed
 * writer's leftovers and delete it, queries would leave it out, and every start would hash every recorded
 * split again as "not in the catalog". This rewrites the rows under each former path of the data dir
 * (`previous`, as format.json recorded it, and any found in the rows: event files, and splits the recorder
 * wrote) to the same place under `dataDir`. Imported bags outside the data dir keep their paths. One
 * transaction: every row moves or none.
 */
export async function rebaseCatalogPaths(
  dataDir: string,
  previous: string | undefined,
  catalogWaitMs?: number,
): Promise<RebaseReport> {
  const { catalog } = lakehousePaths(dataDir);
  if (!existsSync(catalog)) return { from: [], eventFiles: 0, segments: 0 };
  const tablesUnder = (d: string) => `${join(d, 'lakehouse', 'tables')}/`;
  const bagsUnder = (d: string) => `${join(d, 'bags')}/`;
  return withCatalog(
    catalog,
    async (conn) => {
      const from = new Set<string>(previous && previous !== dataDir ? [previous] : []);
      const elsewhere = async (sql: string) => (await conn.runAndReadAll(sql)).getRows().map((r) => String(r[0]));
      for (const path of await elsewhere(
        `SELECT path FROM event_files WHERE NOT starts_with(path, ${quoteString(tablesUnder(dataDir))})`,
      )) {
        const old = EVENTS_FILE.exec(path)?.[1];
        if (old) from.add(old);
      }
      for (const path of await elsewhere(
        `SELECT path FROM bags WHERE source = 'recorder' AND NOT starts_with(path, ${quoteString(bagsUnder(dataDir))})`,
      )) {
        const old = RECORDED_SPLIT.exec(path)?.[1];
        if (old) from.add(old);
      }
      from.delete(dataDir);
      const report: RebaseReport = { from: [...from], eventFiles: 0, segments: 0 };
      if (from.size === 0) return report;
      const count = (result: { rowsChanged: number }) => result.rowsChanged;
      await conn.run('BEGIN TRANSACTION');
      try {
        for (const old of from) {
          const rebase = (under: (d: string) => string) =>
            `${quoteString(under(dataDir))} || substr(path, length(${quoteString(under(old))}) + 1) WHERE starts_with(path, ${quoteString(under(old))})`;
          report.eventFiles += count(await conn.run(`UPDATE event_files SET path = ${rebase(tablesUnder)}`));
          report.segments += count(await conn.run(`UPDATE bags SET path = ${rebase(bagsUnder)}`));
        }
        await conn.run('COMMIT');
      } catch (error) {
        await conn.run('ROLLBACK').catch(() => undefined);
        throw error;
      }
      return report;
    },
    { timeoutMs: catalogWaitMs },
  );
}
