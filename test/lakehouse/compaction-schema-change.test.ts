import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { lakehousePaths, withCatalog } from '../../daemon/lakehouse/catalog.ts';
import { compactLakehouse } from '../../daemon/lakehouse/compaction.ts';
import { queryLakehouse } from '../../daemon/lakehouse/query.ts';
import { quoteString } from '../../daemon/lakehouse/sql-text.ts';
import { tempDir } from '../helpers/cli.ts';
import { recordedSegments } from '../helpers/lakehouse-segments.ts';

// A message definition that changes between recordings (a field added, a field's type changed) gives one
// topic's files different schemas. The views read them with union_by_name, casting each file to the table's
// type; a merged file must not change what they answer.

const registry = new DefinitionsRegistry();
const work = tempDir('compaction-schema-change-');
afterAll(() => work.cleanup());

describe('compaction of a topic whose schema changed between segments', () => {
  it('merges files that agree on their columns (an added field too); ones whose types disagree get files of their own; queries answer as before', async () => {
    const dataDir = join(work.path, 'data');
    const { ids } = await recordedSegments(dataDir, registry, 12);
    const { catalog, tables } = lakehousePaths(dataDir);
    // Segment 1: a field `num` of int32; 2: float64; 3: a field added; 7 (the second group): `num` a string.
    const changes: Record<number, string> = {
      1: '1::INTEGER AS num',
      2: '2.5::DOUBLE AS num',
      3: '7::INTEGER AS added',
      7: "'x' AS num",
    };
    await withCatalog(catalog, async (c) => {
      for (const [i, column] of Object.entries(changes)) {
        const rel = (
          (
            await c.runAndReadAll(`SELECT parquet_files FROM bags WHERE segment_id = ${quoteString(ids[Number(i)]!)}`)
          ).getRowsJson()[0]![0] as string[]
        ).find((f) => f.startsWith('topic_chatter/'))!;
        const file = join(tables, rel);
        await c.run(
          `COPY (SELECT *, ${column} FROM read_parquet(${quoteString(file)})) TO ${quoteString(`${file}.new`)} (FORMAT parquet)`,
        );
        await c.run(
          `COPY (SELECT * FROM read_parquet(${quoteString(`${file}.new`)})) TO ${quoteString(file)} (FORMAT parquet)`,
        );
      }
    });
    const sql = 'SELECT segment_id, log_time, num, added FROM "/chatter" ORDER BY log_time';
    const before = await queryLakehouse(dataDir, sql, { maxRows: 1000 });
    // The table's `num` is a string: the int32 file's 1 reads "1", the float64 file's "2.5".
    expect(before.columns.map((c) => `${c.name} ${c.type}`)).toEqual([
      'segment_id VARCHAR',
      'log_time BIGINT',
      'num VARCHAR',
      'added INTEGER',
    ]);
    expect(new Set(before.rows.filter((r) => r[0] === ids[1]).map((r) => r[2]))).toEqual(new Set(['1']));

    const report = await compactLakehouse({ dataDir, afterS: 0, maxBytes: 256 * 1024 * 1024 });
    const after = await queryLakehouse(dataDir, sql, { maxRows: 1000 });
    expect(after.columns).toEqual(before.columns);
    expect(after.rows).toEqual(before.rows);
    // The first group: /chatter in two files (the float64 one apart; the added field merges), messages in one.
    expect(report.merged.map((m) => [m.key, m.inputFiles, m.outputFiles, m.rows])).toEqual([
      [`segments ${ids[0]}+6`, 12, 3, 480],
      [`segments ${ids[6]}+6`, 12, 2, 480],
    ]);
    expect(report.failed).toEqual([]);
    // Each segment lists the files that hold its rows, and the views read every row once.
    expect(
      (
        await queryLakehouse(
          dataDir,
          'SELECT count(*)::INTEGER, count(DISTINCT (segment_id, log_time))::INTEGER FROM "/chatter"',
        )
      ).rows,
    ).toEqual([[480, 480]]);
    const lists = await withCatalog(catalog, async (c) =>
      (
        await c.runAndReadAll(
          `SELECT parquet_files FROM bags WHERE segment_id IN (${quoteString(ids[1]!)}, ${quoteString(ids[2]!)})`,
        )
      ).getRowsJson(),
    );
    expect(lists.map((l) => (l[0] as string[]).length)).toEqual([2, 2]);
    expect(lists[0]![0]).not.toEqual(lists[1]![0]);
  });
});
