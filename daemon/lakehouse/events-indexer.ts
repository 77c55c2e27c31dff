import { rmSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import type { AgentEventRecord, Journal } from '../contract/index.ts';
import { newId } from '../util/index.ts';
import { lakehousePaths, NEXT_SEQ, withCatalog } from './catalog.ts';
import { newStagingDir } from './housekeeping.ts';
import { commitStaged } from './parquet-files.ts';
import { partitionDate } from './parquet-files.ts';
import { TableWriter } from './table-writer.ts';
import { quoteString } from './sql-text.ts';
import { agentEventsOf } from '../contract/index.ts';

const COLUMNS = [
  { name: 'seq', sql: 'BIGINT' },
  { name: 'ts', sql: 'BIGINT' },
  { name: 'event_id', sql: 'VARCHAR' },
  { name: 'run_id', sql: 'VARCHAR' },
  { name: 'kind', sql: 'VARCHAR' },
  { name: 'payload', sql: 'VARCHAR' },
];

const READ_BATCH = 10_000;

/**
 * Copies AgentEvents from the durable journal (records of kind `agent_event`, each holding one event or, a
 * tool call's, several: see AgentEventRecord) into the `events` table, a row each, in batches: one parquet
 * file per date per run. The last journal seq indexed is kept in the catalog (`event_files`), so a restart
 * carries on where it stopped and no event is indexed twice.
 */
export async function indexEvents(options: {
  journal: Journal;
  dataDir: string;
  robot: string;
  catalogWaitMs?: number;
}): Promise<{ rows: number; lastSeq: number }> {
  const { journal, dataDir, robot, catalogWaitMs: timeoutMs } = options;
  const paths = lakehousePaths(dataDir);
  const done = await withCatalog(
    paths.catalog,
    async (conn) =>
      Number((await conn.runAndReadAll('SELECT coalesce(max(last_seq), 0) FROM event_files')).getRows()[0]![0]),
    { timeoutMs },
  );
  if (journal.lastSeq <= done) return { rows: 0, lastSeq: done };
  const staging = newStagingDir(dataDir);
  const instance = await DuckDBInstance.create(':memory:');
  const writer = new TableWriter({
    db: instance,
    staging,
    table: 'events',
    robot,
    columns: COLUMNS,
    batchRows: 1_000_000,
  });
  let seq = done;
  try {
    for (;;) {
      const records = journal.read(seq + 1, READ_BATCH);
      if (records.length === 0) break;
      for (const r of records) {
        seq = r.seq;
        if (r.kind !== 'agent_event') continue;
        // A row per event: a tool call's record carries the events written with it, and they share its seq.
        for (const event of agentEventsOf((r.data ?? {}) as AgentEventRecord)) {
          const e = event as { event_id?: string; run_id?: string; kind?: string; payload?: unknown; ts?: string };
          const ts = BigInt(e.ts ?? r.ts);
          await writer.add(partitionDate(ts), [
            BigInt(r.seq),
            ts,
            e.event_id ?? null,
            e.run_id ?? null,
            e.kind ?? null,
            JSON.stringify(e.payload ?? null),
          ]);
        }
      }
      if (records.length < READ_BATCH) break;
    }
    await writer.flush();
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  } finally {
    await writer.drop();
    instance.closeSync();
  }
  let moved: string[] = [];
  try {
    await withCatalog(
      paths.catalog,
      async (cat) => {
        // Moved in while the catalog is held, so no other process sees the files before their rows (see
        // removeOrphanParquet).
        moved = await commitStaged(staging, paths.tables, writer.files);
        // One row per file, or a marker row when the journal held no events: the seq must still advance. Only
        // the newest marker matters (the catalog reads max(last_seq)), so it replaces the previous one: a robot
        // whose journal holds only run states would otherwise add a row every flush, for months.
        const marker = `(no events up to seq ${seq})#${newId()}`;
        await cat.run('BEGIN TRANSACTION');
        if (moved.length === 0) await cat.run(`DELETE FROM event_files WHERE path LIKE '(no events up to seq %'`);
        const files = moved.length > 0 ? moved : [marker];
        for (const f of files)
          await cat.run(
            `INSERT INTO event_files (path, first_seq, last_seq, rows, seq) VALUES (${quoteString(f)}, ${done + 1}, ${seq}, ${writer.rowsWritten}, ${NEXT_SEQ})`,
          );
        await cat.run('COMMIT');
      },
      { timeoutMs },
    );
  } catch (error) {
    for (const p of moved) rmSync(p, { force: true }); // the catalog did not take them: they must not stay unlisted
    throw error;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return { rows: writer.rowsWritten, lastSeq: seq };
}
