import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkCentralServeText } from '../../central/config.ts';
import { FleetLake } from '../../central/lake.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { tempDir } from '../helpers/cli.ts';
import { duckdbExtension } from '../peers/index.ts';

// The fleet query with the catalog in a DuckDB file runs in a DuckDB of its own, on a copy of the catalog taken
// between central's commits: it cannot write central's catalog whatever it runs, and it reads each commit.
const cleanups = cleanupStack(afterAll);

async function openLake(): Promise<{ lake: FleetLake; catalog: string; data: string }> {
  const dir = tempDir('fleet-query-snapshot-');
  cleanups.push(dir.cleanup);
  const catalog = `${dir.path}/fleet.ducklake`;
  const { config, issues } = checkCentralServeText(
    [
      'mqtt:',
      '  url: mqtt://127.0.0.1:1883',
      'lakehouse:',
      `  catalog: "${catalog}"`,
      `  data_path: "${dir.path}/lake/"`,
      `  extension_directory: "${dirname(duckdbExtension('ducklake'))}"`,
    ].join('\n'),
    {},
  );
  if (!config) throw new Error(`central.yaml: ${JSON.stringify(issues)}`);
  const lake = await FleetLake.open(config);
  cleanups.push(() => lake.close());
  return { lake, catalog, data: `${dir.path}/lake` };
}

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
/** Every file under `dir`, relative, with its sha256. */
const filesOf = (dir: string) =>
  (readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => statSync(join(dir, f)).isFile())
    .map((f) => `${f} ${sha(join(dir, f))}`)
    .sort();
const count = async (lake: FleetLake) => (await lake.fleetQuery('SELECT count(*) FROM events')).rows[0]![0];
const insert = (lake: FleetLake, seq: number) =>
  lake.transaction((c) =>
    c.run(
      `INSERT INTO events (fleet, robot, journal_id, seq, kind, data) VALUES ('lab', 'r1', 'j', ${seq}, 'k', '{}')`,
    ),
  );

describe('the fleet query on a lake whose catalog is a DuckDB file', () => {
  it("attaches a copy of the catalog, read-only, never central's file", async () => {
    const { lake, catalog } = await openLake();
    const guarded = await lake.guarded();
    const attached = (
      await guarded.runAndReadAll(`SELECT database_name, path, readonly FROM duckdb_databases()`)
    ).getRowsJson() as [string, string | null, boolean][];
    const lake_ = attached.find(([name]) => name === 'fleet')!;
    expect(lake_[1]).toMatch(/\.fleet\.ducklake\.query\/catalog-\d+\.duckdb$/);
    expect(lake_[2]).toBe(true);
    expect(attached.filter(([, path]) => path === catalog)).toEqual([]);
  });

  it('cannot write the catalog, nor run what deletes or writes data files, even without the keyword check', async () => {
    const { lake, catalog, data } = await openLake();
    await insert(lake, 1);
    // A data file central no longer needs, scheduled for deletion: what ducklake_cleanup_old_files would remove.
    await lake.writer.run('CREATE TABLE odom AS SELECT range AS x FROM range(100000)');
    await lake.writer.run('DROP TABLE odom');
    await lake.writer.run("CALL ducklake_expire_snapshots('fleet', older_than => now())");
    const scheduled = await lake.writer.runAndReadAll(
      'SELECT path FROM __ducklake_metadata_fleet.ducklake_files_scheduled_for_deletion',
    );
    expect(scheduled.getRowsJson()).toHaveLength(1);
    const before = { catalog: sha(catalog), files: filesOf(data), count: await count(lake) };
    expect(before.files.some((f) => f.startsWith('main/odom/'))).toBe(true);
    // Straight on the query's DuckDB: the catalog it holds is a copy, attached read-only.
    const guarded = await lake.guarded();
    for (const sql of [
      "INSERT INTO events (fleet, robot, seq) VALUES ('x', 'x', 1)",
      'DELETE FROM events',
      'DROP TABLE events',
      'ALTER TABLE events ADD COLUMN evil INTEGER',
    ])
      await expect(guarded.run(sql), sql).rejects.toThrow(/attached in read-only mode/);
    // Through the runner, without the keyword check: DuckLake's maintenance functions would delete the scheduled
    // file or write new ones into the data path before the read-only catalog refuses them; DuckDB's parser names
    // them, and they never run.
    for (const sql of [
      "SELECT * FROM ducklake_cleanup_old_files('fleet', cleanup_all => true)",
      "SELECT (SELECT count(*) FROM ducklake_merge_adjacent_files('fleet')) AS n",
      "WITH t AS (SELECT * FROM ducklake_flush_inlined_data('fleet')) SELECT * FROM t",
      "SELECT * FROM ducklake_expire_snapshots('fleet', versions => [1])",
      "SELECT * FROM query('SELECT * FROM ducklake_cleanup_old_files(''fleet'', cleanup_all => true)')",
      "SELECT * FROM checkpoint('fleet')",
    ])
      await expect(lake.queries.run(sql), sql).rejects.toThrow(
        /the fleet query reads only: (ducklake_\w+|query|checkpoint)/,
      );
    expect({ catalog: sha(catalog), files: filesOf(data), count: await count(lake) }).toEqual(before);
    // What the test sees: the same function run on the query's DuckDB straight does delete the scheduled file.
    await guarded.run("CALL ducklake_cleanup_old_files('fleet', cleanup_all => true)").catch(() => undefined);
    expect(filesOf(data)).not.toEqual(before.files);
  });

  it("reads each of central's commits at once, and a copy only when the catalog changed", async () => {
    const { lake } = await openLake();
    expect(await count(lake)).toBe('0');
    for (let seq = 1; seq <= 3; seq++) {
      await insert(lake, seq);
      expect(await count(lake)).toBe(String(seq));
    }
    // A write outside central's transactions (ALTER, a table made by hand) is read as well.
    await lake.writer.run('CREATE TABLE odom AS SELECT range AS x FROM range(10)');
    expect((await lake.fleetQuery('SELECT count(*) FROM odom')).rows).toEqual([['10']]);
    const made = lake.snapshotsMade;
    for (let i = 0; i < 3; i++) await count(lake);
    expect(lake.snapshotsMade).toBe(made);
  });

  it("reads every commit when another connection's write transaction refuses the catalog's CHECKPOINT", async () => {
    const { lake, catalog } = await openLake();
    // A write transaction open on the catalog's database from another connection holds DuckDB's checkpoint lock.
    await lake.reader.run('CREATE TABLE __ducklake_metadata_fleet.main.held (x INTEGER)');
    await lake.reader.run('BEGIN TRANSACTION');
    await lake.reader.run('INSERT INTO __ducklake_metadata_fleet.main.held VALUES (1)');
    // Commits until the WAL is past what the query folds before its copy.
    let seq = 0;
    while ((statSync(`${catalog}.wal`, { throwIfNoEntry: false })?.size ?? 0) <= 64 * 1024) await insert(lake, ++seq);
    const refused = await lake.writer.run('CHECKPOINT __ducklake_metadata_fleet').then(
      () => 'taken',
      (error: unknown) => String(error),
    );
    expect(refused).toMatch(/Cannot CHECKPOINT/);
    expect(await count(lake)).toBe(String(seq));
    await lake.reader.run('ROLLBACK');
  });
});
