// The lakehouse's parquet, read without our code: pyarrow opens every file with the column types
// docs/bags-and-lakehouse.md documents, and a fresh DuckDB's read_parquet over the Hive layout gives the same rows
// as `auraison-edge query`.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, runMain, tempDir } from '../helpers/cli.ts';
import { runPythonPeer } from '../peers/index.ts';
import { recordDrive } from './sim-drive.ts';

const work = tempDir('interop-lakehouse-');
afterAll(() => work.cleanup());

interface PeerTables {
  duckdb_version: string;
  tables: Record<
    string,
    {
      files: number;
      pyarrow_rows: number;
      pyarrow_schema: Record<string, string[]>;
      columns: string[];
      rows: (string | null)[][];
    }
  >;
}

/** The arrow type of a column DuckDB describes as `type`, as DuckDB writes it to parquet. */
function arrowType(type: string): string {
  if (type.endsWith('[]')) return `list<element: ${arrowType(type.slice(0, -2))}>`;
  if (type.startsWith('ENUM(')) return 'string';
  const types: Record<string, string> = {
    BIGINT: 'int64',
    INTEGER: 'int32',
    SMALLINT: 'int16',
    TINYINT: 'int8',
    UBIGINT: 'uint64',
    UINTEGER: 'uint32',
    USMALLINT: 'uint16',
    UTINYINT: 'uint8',
    DOUBLE: 'double',
    FLOAT: 'float',
    VARCHAR: 'string',
    BOOLEAN: 'bool',
    BLOB: 'binary',
    DATE: 'date32[day]',
  };
  return types[type] ?? `no arrow type for ${type}`;
}

describe('lakehouse parquet, read by pyarrow and by a fresh DuckDB', () => {
  let config: string;
  let peer: PeerTables;
  let names: Map<string, string>;
  const query = async (sql: string) => {
    const out = await runMain(['query', sql, '--json', '--max-rows', '1000000', '--config', config], {
      cwd: work.path,
    });
    expect(out.code, out.stderr).toBe(0);
    return JSON.parse(out.stdout) as { columns: { name: string; type: string }[]; rows: unknown[][] };
  };

  beforeAll(async () => {
    // A sim drive's bag, a bag from rosbags and one from ROS 2 (test_msgs' types), imported with `bag import`
    // (the drive is imported once it is recorded: how much a daemon indexes before its stop is bounded varies).
    const drive = await recordDrive(work.path, 'drive', { compression: 'zstd' });
    config = drive.configFile;
    await runPythonPeer('rosbags_write.py', [join(work.path, 'rosbags_mcap'), 'mcap', '9']);
    const cdr = join(FIXTURES, 'bags/rosbag2/rosbag2_tests/resources/mcap/cdr_test');
    const bags = [
      ...readdirSync(join(drive.dataDir, 'bags')).map((b) => join(drive.dataDir, 'bags', b)),
      join(work.path, 'rosbags_mcap'),
      cdr,
    ];
    const imported = await runMain(['bag', 'import', ...bags, '--config', config], { cwd: work.path });
    expect(imported.code, imported.stderr).toBe(0);
    peer = await runPythonPeer<PeerTables>('lakehouse_read.py', [join(drive.dataDir, 'lakehouse', 'tables')]);
    const projections = await query('SELECT table_name, topic FROM projections');
    names = new Map(projections.rows.map(([table, topic]) => [table as string, topic as string]));
  }, 300_000);

  it('is read by the DuckDB release the daemon embeds', () => {
    expect(peer.duckdb_version).toBe('1.5.5');
  });

  it(
    'opens every table with pyarrow, with the column types and row counts that `query` gives',
    { timeout: 120_000 },
    async () => {
      expect(Object.keys(peer.tables)).toEqual(
        expect.arrayContaining(['messages', 'topic_odom', 'topic_scan', 'topic_tf', 'topic_camera_image']),
      );
      expect(Object.keys(peer.tables).length).toBeGreaterThan(12);
      for (const [dir, table] of Object.entries(peer.tables)) {
        const name = names.get(dir) ?? dir;
        const described = await query(`DESCRIBE "${name}"`);
        // The Hive partition columns are in the path, not the files.
        const columns = described.rows.filter(([c]) => c !== 'robot' && c !== 'date');
        expect(table.pyarrow_schema, name).toEqual(
          Object.fromEntries(columns.map(([c, type]) => [c, [arrowType(type as string)]])),
        );
        const count = await query(`SELECT count(*)::VARCHAR FROM "${name}"`);
        expect(String(table.pyarrow_rows), name).toBe(count.rows[0]![0]);
      }
      // As documented: ns times as int64, ROS times and arrays of messages as JSON text, covariance as a list of
      // doubles, byte arrays as binary.
      const odom = peer.tables.topic_odom!.pyarrow_schema;
      expect([
        odom.log_time,
        odom['header.stamp'],
        odom['header.frame_id'],
        odom['twist.twist.linear.x'],
        odom['pose.covariance'],
      ]).toEqual([['int64'], ['string'], ['string'], ['double'], ['list<element: double>']]);
      expect(peer.tables.topic_tf!.pyarrow_schema.transforms).toEqual(['string']);
      expect(peer.tables.topic_camera_image!.pyarrow_schema.data).toEqual(['binary']);
    },
  );

  it(
    'gives, through read_parquet over the Hive layout, the same rows as `auraison-edge query`',
    { timeout: 120_000 },
    async () => {
      for (const [dir, table] of Object.entries(peer.tables)) {
        const name = names.get(dir) ?? dir;
        const select = table.columns.map((c) => `"${c}"::VARCHAR AS "${c}"`).join(', ');
        const ours = await query(`SELECT ${select} FROM "${name}" ORDER BY ALL`);
        expect(
          ours.columns.map((c) => c.name),
          name,
        ).toEqual(table.columns);
        expect(ours.rows.length, name).toBeGreaterThan(0);
        expect(ours.rows, name).toEqual(table.rows);
      }
    },
  );
});
