import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/paths.ts';
import { reserveList, setValue, type FixedColumn, type ListColumn, type TimeColumn } from './column-batch.ts';
import { TableWriter } from './table-writer.ts';

const work = tempDir('table-writer-');
afterAll(() => work.cleanup());

const DAY = 86_400_000_000_000n;
const BASE = 19_675n * DAY; // 2023-11-14

async function write(robot: string, times: bigint[], batchRows: number) {
  const db = await DuckDBInstance.create(':memory:');
  const staging = join(work.path, `s-${robot.replace(/\W/g, '_')}-${batchRows}-${times.length}`);
  const writer = new TableWriter({
    db,
    staging,
    table: 't',
    robot,
    columns: [
      { name: 'seg', sql: 'VARCHAR', dict: true },
      { name: 'x', sql: 'BIGINT' },
    ],
    batchRows,
  });
  try {
    await writer.open();
    const seg = writer.code(0, 'placeholder');
    // As the importer does with a checksum still being computed: settled before any batch is written.
    writer.beforeWrite = async () => writer.relabel(0, 'placeholder', 'abc');
    for (const t of times) {
      const s = writer.stores as FixedColumn[];
      s[0]!.d[writer.row] = seg;
      s[1]!.d[writer.row] = t;
      if (writer.commit(t)) await writer.flush({ wait: false });
    }
    await writer.flush();
    const conn = await db.connect();
    const rows = (
      await conn.runAndReadAll(
        `SELECT robot, date::VARCHAR, seg, count(*)::INTEGER, min(x) FROM read_parquet('${staging}/t/**/*.parquet', hive_partitioning = true) GROUP BY ALL ORDER BY 2`,
      )
    ).getRows();
    conn.closeSync();
    return { files: writer.files, rows, written: writer.rowsWritten };
  } finally {
    await writer.drop();
    db.closeSync();
  }
}

describe('TableWriter', () => {
  it('writes one file per batch and date, under robot=/date= directories, with dict values as strings', async () => {
    const times = Array.from({ length: 5000 }, (_, i) => BASE + BigInt(i) * 1_000_000_000n);
    const one = await write('r1', times, 2048);
    expect(one.written).toBe(5000);
    expect(one.files.length).toBe(3); // 2048 + 2048 + 904 rows
    for (const f of one.files) expect(f).toMatch(/^t\/robot=r1\/date=2023-11-14\/part-[0-9a-f-]{36}\.parquet$/);
    expect(one.rows).toEqual([['r1', '2023-11-14', 'abc', 5000, BASE]]);
  });

  it('splits a batch that spans dates, and escapes robot names as PARTITION_BY does', async () => {
    const times = [BASE + DAY - 1n, BASE + DAY, BASE - 1n, BASE + 2n * DAY];
    const two = await write('robot one/ä', times, 100_000);
    expect(two.files.length).toBe(4);
    expect(two.rows.map((r) => [r[0], r[1], r[3]])).toEqual([
      ['robot one/ä', '2023-11-13', 1],
      ['robot one/ä', '2023-11-14', 1],
      ['robot one/ä', '2023-11-15', 1],
      ['robot one/ä', '2023-11-16', 1],
    ]);
  });

  it('writes time columns as the JSON text MessageReader values flatten to, and strings the same in every row as they are', async () => {
    const db = await DuckDBInstance.create(':memory:');
    const staging = join(work.path, 's-time');
    const columns = [
      { name: 'stamp', sql: 'VARCHAR', time: true },
      { name: 'frame', sql: 'VARCHAR' },
      { name: 'x', sql: 'BIGINT' },
    ];
    const writer = new TableWriter({ db, staging, table: 't', robot: 'r', columns, batchRows: 100_000 });
    const times: [number, number][] = [
      [0, 0],
      [-1, 4294967295],
      [2147483647, 999999999],
      [-2147483648, 1],
      [1700000000, 20000000],
    ];
    try {
      await writer.open();
      for (let i = 0; i < 5000; i++) {
        const s = writer.stores;
        const [sec, nanosec] = times[i % times.length]!;
        const t = s[0] as TimeColumn;
        if (i % 7 === 3) setValue(t, writer.row, i % 2 ? null : `{"sec":${sec},"nanosec":${nanosec}}`);
        else {
          t.d[2 * writer.row] = nanosec;
          t.d[2 * writer.row + 1] = sec;
        }
        setValue(s[1]!, writer.row, i < 2048 ? 'odom' : i < 4096 ? `f${i % 3}` : null);
        (s[2] as FixedColumn).d[writer.row] = BigInt(i);
        if (writer.commit(BASE)) await writer.flush({ wait: false });
      }
      await writer.flush();
      const conn = await db.connect();
      const rows = (
        await conn.runAndReadAll(`SELECT x, stamp, frame FROM read_parquet('${staging}/t/**/*.parquet') ORDER BY x`)
      ).getRows();
      conn.closeSync();
      expect(rows.length).toBe(5000);
      rows.forEach(([x, stamp, frame], i) => {
        const [sec, nanosec] = times[i % times.length]!;
        expect(x).toBe(BigInt(i));
        expect(stamp).toBe(i % 7 === 3 && i % 2 ? null : JSON.stringify({ sec, nanosec }));
        expect(frame).toBe(i < 2048 ? 'odom' : i < 4096 ? `f${i % 3}` : null);
      });
    } finally {
      await writer.drop();
      db.closeSync();
    }
  });

  it('writes dict columns of many values, nulls, and two codes relabelled to one value (two files with one checksum)', async () => {
    const db = await DuckDBInstance.create(':memory:');
    const staging = join(work.path, 's-dict');
    const writer = new TableWriter({
      db,
      staging,
      table: 't',
      robot: 'r',
      columns: [
        { name: 'seg', sql: 'VARCHAR', dict: true },
        { name: 'topic', sql: 'VARCHAR', dict: true },
        { name: 'x', sql: 'BIGINT' },
      ],
      batchRows: 100_000,
    });
    try {
      await writer.open();
      const a = writer.code(0, 'placeholder-a');
      const b = writer.code(0, 'placeholder-b');
      writer.beforeWrite = async () => {
        writer.relabel(0, 'placeholder-a', 'same');
        writer.relabel(0, 'placeholder-b', 'same');
      };
      for (let i = 0; i < 3000; i++) {
        const s = writer.stores as FixedColumn[];
        s[0]!.d[writer.row] = i % 2 ? a : b;
        setValue(s[1]!, writer.row, i % 11 === 0 ? null : writer.code(1, `/topic_${i % 700}`));
        s[2]!.d[writer.row] = BigInt(i);
        if (writer.commit(BASE)) await writer.flush({ wait: false });
      }
      await writer.flush();
      const conn = await db.connect();
      const rows = (
        await conn.runAndReadAll(`SELECT x, seg, topic FROM read_parquet('${staging}/t/**/*.parquet') ORDER BY x`)
      ).getRows();
      const types = (
        await conn.runAndReadAll(`SELECT seg, topic FROM read_parquet('${staging}/t/**/*.parquet') LIMIT 0`)
      )
        .columnTypes()
        .map(String);
      conn.closeSync();
      expect(types).toEqual(['VARCHAR', 'VARCHAR']);
      expect(rows.length).toBe(3000);
      rows.forEach(([x, seg, topic], i) => {
        expect([x, seg, topic]).toEqual([BigInt(i), 'same', i % 11 === 0 ? null : `/topic_${i % 700}`]);
      });
    } finally {
      await writer.drop();
      db.closeSync();
    }
  });

  it('writes list rows that share elements (a repeated list) as the lists they stand for', async () => {
    const db = await DuckDBInstance.create(':memory:');
    const staging = join(work.path, 's-lists');
    const writer = new TableWriter({
      db,
      staging,
      table: 't',
      robot: 'r',
      columns: [
        { name: 'x', sql: 'BIGINT' },
        { name: 'cov', sql: 'DOUBLE[]' },
      ],
      batchRows: 100_000,
    });
    const expected: (number[] | null)[] = [];
    try {
      await writer.open();
      for (let i = 0; i < 5000; i++) {
        const s = writer.stores;
        (s[0] as FixedColumn).d[writer.row] = BigInt(i);
        const c = s[1] as ListColumn;
        const row = writer.row;
        if (i % 13 === 5) {
          setValue(c, row, null);
          expected.push(null);
        } else if (i % 4 !== 0 && c.shareLen >= 0 && row > 0) {
          // as the decoder does for a list the same as the last one taken
          c.offs[row] = c.shareOff;
          c.lens[row] = c.shareLen;
          expected.push(Array.from(c.child.subarray(c.shareOff, c.shareOff + c.shareLen) as Float64Array));
        } else {
          const items = Array.from({ length: i % 5 }, (_, k) => i + k / 10);
          const ch = reserveList(c, items.length);
          c.offs[row] = c.n;
          (ch as Float64Array).set(items, c.n);
          [c.shareOff, c.shareLen] = [c.n, items.length];
          c.n += items.length;
          c.lens[row] = items.length;
          expected.push(items);
        }
        if (writer.commit(BASE)) await writer.flush({ wait: false });
      }
      await writer.flush();
      const conn = await db.connect();
      const rows = (
        await conn.runAndReadAll(`SELECT x, cov FROM read_parquet('${staging}/t/**/*.parquet') ORDER BY x`)
      ).getRowsJS();
      conn.closeSync();
      expect(rows.map((r) => r[1])).toEqual(expected);
      expect(
        expected.filter((e, i) => i > 0 && e !== null && expected[i - 1] !== null && e.length > 0).length,
      ).toBeGreaterThan(1000);
    } finally {
      await writer.drop();
      db.closeSync();
    }
  });
});
