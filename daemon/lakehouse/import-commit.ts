import { rmSync } from 'node:fs';
import { lakehousePaths, NEXT_SEQ, withCatalog } from './catalog.ts';
import type { ImportReport } from './import-types.ts';
import { commitStaged } from './parquet-files.ts';
import { quoteString } from './sql-text.ts';

/** A row of `bags`, one per imported storage file. */
export interface SegmentRow {
  id: string;
  file: string;
  start: bigint | null;
  end: bigint | null;
  count: number;
  topics: string[];
  size: number;
}

export interface ImportCommit {
  dataDir: string;
  robot: string;
  bag: { name: string; storage: string };
  source: 'import' | 'recorder';
  /** The import's staging directory. */
  staging: string;
  /** Resolves with the staged parquet files once the last batches are written. */
  written: () => Promise<string[]>;
  segments: readonly SegmentRow[];
  /** Projection tables this import named first. */
  newProjections: readonly { topic: string; type: string; table: string }[];
  report: Pick<ImportReport, 'unknownTypes' | 'corrupt' | 'warnings'>;
  signal: AbortSignal | undefined;
  /** How long to wait for a catalog another process holds. */
  timeoutMs: number | undefined;
}

/**
 * Moves an import's staged parquet into the tables and records its segments and new projections in one
 * transaction; a file the catalog did not take is deleted again.
 */
export async function commitImport(c: ImportCommit): Promise<void> {
  const paths = lakehousePaths(c.dataDir);
  const { bag, report } = c;
  let moved: string[] = [];
  // A parquet file may hold rows of several segments of this import: each segment lists them all, and
  // retention deletes a file only with the last segment that lists it.
  try {
    await withCatalog(
      paths.catalog,
      async (cat) => {
        // The catalog opens while the last batches are written; nothing is moved or recorded before they are.
        const staged = await c.written();
        c.signal?.throwIfAborted(); // the last point where nothing is visible yet
        moved = await commitStaged(c.staging, paths.tables, staged);
        await cat.run('BEGIN TRANSACTION');
        for (const { id, file, start, end, count, topics, size } of c.segments) {
          const raw = [...report.unknownTypes, ...report.corrupt]
            .filter((u) => u.file === file)
            .reduce((a, u) => a + u.count, 0);
          await cat.run(
            `INSERT INTO bags (segment_id, robot, bag, path, storage, source, start_ns, end_ns, message_count, topics, size_bytes, checksum, parquet_files, raw_messages, warnings, seq)
             VALUES (${quoteString(id)}, ${quoteString(c.robot)}, ${quoteString(bag.name)}, ${quoteString(file)}, ${quoteString(bag.storage)}, ${quoteString(c.source)}, ${start ?? 'NULL'}, ${end ?? 'NULL'}, ${count}, ${sqlList(topics)}, ${size}, ${quoteString(id)}, ${sqlList(staged)}, ${raw}, ${sqlList(report.warnings)}, ${NEXT_SEQ})`,
          );
        }
        for (const p of c.newProjections)
          await cat.run(
            `INSERT OR IGNORE INTO projections VALUES (${quoteString(p.topic)}, ${quoteString(p.type)}, ${quoteString(p.table)})`,
          );
        await cat.run('COMMIT');
      },
      { timeoutMs: c.timeoutMs },
    );
  } catch (error) {
    for (const p of moved) rmSync(p, { force: true }); // the catalog did not take them: they must not be visible
    throw error;
  }
}

function sqlList(items: readonly string[]): string {
  return `[${items.map(quoteString).join(', ')}]::VARCHAR[]`;
}
