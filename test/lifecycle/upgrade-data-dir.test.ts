// A robot's data dir outlives the software: it is upgraded, rolled back, moved to a new disk or restored
// from a backup elsewhere. The daemon records the data dir's format and place in <data_dir>/format.json,
// refuses a format newer than its own, and rebases the lakehouse catalog's paths when the data dir moved.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { DuckDBInstance } from '@duckdb/node-api';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { parseConfigText } from '../../daemon/config/load.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { DurableJournal } from '../../daemon/journal/durable-journal.ts';
import { lakehousePaths, withCatalog } from '../../daemon/lakehouse/catalog.ts';
import { indexEvents } from '../../daemon/lakehouse/events-indexer.ts';
import { importBag } from '../../daemon/lakehouse/importer.ts';
import { queryLakehouse } from '../../daemon/lakehouse/query.ts';
import { DataDirError } from '../../daemon/lifecycle/data-dir.ts';
import {
  DATA_DIR_FORMAT,
  FORMAT_FILE,
  prepareDataDirFormat,
  readDataDirFormat,
} from '../../daemon/data-dir-version.ts';
import { FIXTURES, ROOT, runMain, tempDir } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { recordSmallBag } from '../helpers/recorded-bag.ts';
import { errorText } from '../../daemon/util/index.ts';

const work = tempDir('upgrade-');
afterAll(() => work.cleanup());
const registry = new DefinitionsRegistry();
/**
 * Another process holding the catalog open read-only (as a `duckdb catalog.duckdb` shell does) until its stdin ends.
 */
const HOLD_CATALOG = `import { DuckDBInstance } from '@duckdb/node-api';
const db = await DuckDBInstance.create(process.argv[1], { access_mode: 'READ_ONLY' });
await (await db.connect()).run('SELECT 1');
process.stdout.write('holding\\n');
process.stdin.resume();
// Closed in the handler, which keeps db reachable: once unreachable, a GC would finalize it and drop the lock.
process.stdin.on('end', () => { db.closeSync(); process.exit(0); });`;

/**
 * A daemon with only the lakehouse (and what always runs) on `dataDir`, started and stopped: stop waits for the
 * lakehouse's start job.
 */
async function startAndStop(dataDir: string): Promise<Record<string, unknown>[]> {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const config = parseConfigText(
    stringify({
      data_dir: dataDir,
      sim: { enabled: false },
      api: { enabled: false },
      foxglove: { enabled: false },
      agent: { enabled: false },
      journal: { fsync: 'never' },
    }),
    'edge.yaml',
    {},
  );
  const daemon = new Daemon({ config, log: pino({ level: 'info' }, sink), cwd: work.path });
  await daemon.start();
  await daemon.close();
  return lines;
}

const messages = (lines: Record<string, unknown>[]) => lines.map((l) => String(l.msg));

async function eventRows(dataDir: string): Promise<number> {
  return Number((await queryLakehouse(dataDir, 'SELECT count(*)::INTEGER FROM events')).rows[0]![0]);
}

describe('a data dir moved or copied to another path', () => {
  it('keeps its events parquet and recorded splits: the catalog rows follow the data dir, nothing is deleted or indexed again', async () => {
    const before = join(work.path, 'robot-a', 'data');
    const { bag, files } = await recordSmallBag(before, registry, 160);
    for (const file of files)
      await importBag({ path: bag, only: [file], dataDir: before, robot: 'r1', registry, source: 'recorder' });
    const journal = new DurableJournal({ dir: join(before, 'log'), fsync: 'never' });
    for (let i = 0; i < 3; i++)
      await journal.append('agent_event', {
        event_id: `e${i}`,
        run_id: 'run-1',
        kind: 'tool.call',
        payload: { i },
        ts: '1700000000000000000',
      });
    await indexEvents({ journal, dataDir: before, robot: 'r1' });
    await journal.close();
    // The daemon runs there once (format.json records the place), and is stopped.
    expect(messages(await startAndStop(before))).not.toContain(
      'lakehouse: indexing recorded splits not in the catalog',
    );
    const recorded = readDataDirFormat(before);

    const after = join(work.path, 'new-disk', 'data');
    mkdirSync(join(after, '..'));
    renameSync(before, after);
    const lines = await startAndStop(after);
    // Without the rebase the start took the events parquet for a killed writer's leftovers (deleted), and
    // every recorded split for one the catalog lacks (hashed again at every start).
    expect(
      messages(lines).filter((m) => m.startsWith('lakehouse: deleted') || m.startsWith('lakehouse: indexing')),
    ).toEqual([]);
    expect(await eventRows(after)).toBe(3);
    const paths = await withCatalog(lakehousePaths(after).catalog, async (c) =>
      (await c.runAndReadAll('SELECT path FROM bags UNION ALL SELECT path FROM event_files'))
        .getRows()
        .map((r) => String(r[0])),
    );
    expect(paths.length).toBe(files.length + 1);
    expect(paths.every((p) => p.startsWith(`${after}/`) && existsSync(p))).toBe(true);
    expect(messages(lines)).toContain(
      `data dir moved from ${before}: the lakehouse catalog's paths now point to ${after}`,
    );
    expect(lines.find((l) => String(l.msg).startsWith('data dir moved'))).toMatchObject({
      event_files: 1,
      segments: files.length,
    });
    expect(recorded).toMatchObject({ format: DATA_DIR_FORMAT, path: before });
    expect(readDataDirFormat(after)).toMatchObject({ format: DATA_DIR_FORMAT, path: after });
  });

  it('from a version before format.json, with its older catalog schema (no deleted_at, no seq): found from the rows, upgraded in place', async () => {
    const dataDir = join(work.path, 'legacy', 'data');
    const elsewhere = '/srv/old-robot/.auraison-edge'; // where that version ran: gone, as after a restore from backup
    const part = 'events/robot=r1/date=2023-11-14/part-0001.parquet';
    mkdirSync(join(lakehousePaths(dataDir).tables, part, '..'), { recursive: true });
    const db = await DuckDBInstance.create(lakehousePaths(dataDir).catalog);
    const conn = await db.connect();
    // The catalog as auraison-edge wrote it at commit e01fa21 (event_files without deleted_at and seq, bags without
    // seq).
    await conn.run(`CREATE TABLE bags (segment_id VARCHAR PRIMARY KEY, robot VARCHAR NOT NULL, bag VARCHAR NOT NULL, path VARCHAR NOT NULL, storage VARCHAR NOT NULL, source VARCHAR NOT NULL,
      start_ns BIGINT, end_ns BIGINT, message_count BIGINT NOT NULL, topics VARCHAR[] NOT NULL, size_bytes BIGINT NOT NULL, checksum VARCHAR NOT NULL, sync_state VARCHAR NOT NULL DEFAULT 'pending',
      synced_at TIMESTAMP, indexed_at TIMESTAMP NOT NULL DEFAULT current_timestamp, parquet_files VARCHAR[] NOT NULL, raw_messages BIGINT NOT NULL DEFAULT 0, warnings VARCHAR[] NOT NULL DEFAULT [])`);
    await conn.run(
      'CREATE TABLE projections (topic VARCHAR PRIMARY KEY, type VARCHAR NOT NULL, table_name VARCHAR NOT NULL)',
    );
    await conn.run(
      `CREATE TABLE event_files (path VARCHAR PRIMARY KEY, first_seq BIGINT, last_seq BIGINT, rows BIGINT, sync_state VARCHAR NOT NULL DEFAULT 'pending', written_at TIMESTAMP NOT NULL DEFAULT current_timestamp)`,
    );
    await conn.run(
      `COPY (SELECT i::BIGINT AS seq, 1700000000000000000::BIGINT AS ts, 'e' || i AS event_id, 'run-1' AS run_id, 'tool.call' AS kind, '{}' AS payload FROM range(1, 3) t(i))
       TO '${join(lakehousePaths(dataDir).tables, part)}' (FORMAT parquet)`,
    );
    await conn.run(
      `INSERT INTO event_files (path, first_seq, last_seq, rows) VALUES ('${elsewhere}/lakehouse/tables/${part}', 1, 2, 2)`,
    );
    conn.closeSync();
    db.closeSync();

    // `query` before any daemon of this version ran there reads the old schema as it is.
    expect((await queryLakehouse(dataDir, 'SELECT count(*)::INTEGER FROM bags')).rows).toEqual([[0]]);

    const lines = await startAndStop(dataDir);
    expect(existsSync(join(lakehousePaths(dataDir).tables, part))).toBe(true);
    expect(await eventRows(dataDir)).toBe(2);
    expect(messages(lines)).toContain(
      `data dir moved from ${elsewhere}: the lakehouse catalog's paths now point to ${dataDir}`,
    );
    const row = await withCatalog(lakehousePaths(dataDir).catalog, async (c) =>
      (await c.runAndReadAll('SELECT path, deleted_at, last_seq::INTEGER FROM event_files')).getRowsJson(),
    );
    expect(row).toEqual([[join(lakehousePaths(dataDir).tables, part), null, 2]]);
    expect(readDataDirFormat(dataDir)).toMatchObject({ format: DATA_DIR_FORMAT, path: dataDir });
  });
});

describe('a moved data dir whose catalog cannot be opened at start', () => {
  const logLines = () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    return { lines, log: pino({ level: 'info' }, sink) };
  };

  it('locked by another process (a DuckDB shell): the start fails saying what to do, format.json unchanged; once free, the rows are rebased', async () => {
    const dataDir = join(work.path, 'locked', 'data');
    await withCatalog(
      lakehousePaths(dataDir).catalog,
      async (c) =>
        void (await c.run(
          "INSERT INTO event_files (path, first_seq, last_seq, rows) VALUES ('/old/data/lakehouse/tables/events/robot=r1/date=2026-01-01/part-1.parquet', 1, 1, 1)",
        )),
    );
    const recorded = `${JSON.stringify({ format: DATA_DIR_FORMAT, written_by: '0.1.0', path: '/old/data' })}\n`;
    writeFileSync(join(dataDir, FORMAT_FILE), recorded);
    const holder = spawn(
      process.execPath,
      ['--input-type=module', '-e', HOLD_CATALOG, lakehousePaths(dataDir).catalog],
      { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
    );
    let out = '';
    holder.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor(() => out.includes('holding') || holder.exitCode !== null, 'the other process to open the catalog');
      expect(out, 'the holder exited before it held the catalog (its stderr is above)').toContain('holding');
      const { log } = logLines();
      await expect(prepareDataDirFormat(dataDir, log, 100)).rejects.toThrow(
        new RegExp(
          `^data_dir ${dataDir} was at /old/data when a daemon last ran on it, so its lakehouse catalog, which lists files by path, must be checked .* could not be opened: .*locked.*\\. Nothing was changed; start the daemon again once the catalog is free$`,
        ),
      );
      expect(readFileSync(join(dataDir, FORMAT_FILE), 'utf8')).toBe(recorded);
    } finally {
      holder.stdin.end();
      await waitFor(() => holder.exitCode !== null, 'the other process to let the catalog go');
    }
    await prepareDataDirFormat(dataDir, logLines().log, 100);
    const rows = await withCatalog(lakehousePaths(dataDir).catalog, async (c) =>
      (await c.runAndReadAll('SELECT path FROM event_files')).getRows(),
    );
    expect(rows).toEqual([[`${dataDir}/lakehouse/tables/events/robot=r1/date=2026-01-01/part-1.parquet`]]);
    expect(readDataDirFormat(dataDir)).toMatchObject({ path: dataDir });
  });

  it('damaged (not a DuckDB file): left to the lakehouse component, the daemon starts, and the next start checks again', async () => {
    const dataDir = join(work.path, 'damaged', 'data');
    mkdirSync(lakehousePaths(dataDir).root, { recursive: true });
    writeFileSync(lakehousePaths(dataDir).catalog, 'x'.repeat(5000));
    const { lines, log } = logLines();
    await prepareDataDirFormat(dataDir, log);
    expect(lines.map((l) => l.msg)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^data_dir ${dataDir} has no format.json yet .* could not be opened: .*\\. Left to the lakehouse component; checked again at the next start$`,
        ),
      ),
    ]);
    expect(existsSync(join(dataDir, FORMAT_FILE))).toBe(false);
  });
});

describe('a data dir of a newer format (a rollback)', () => {
  it('is refused before anything in it is opened, saying what to do; the data dir stays as it was and free', async () => {
    const dir = join(work.path, 'newer');
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir, { recursive: true });
    const newer = `${JSON.stringify({ format: DATA_DIR_FORMAT + 1, written_by: '9.0.0', path: dataDir })}\n`;
    writeFileSync(join(dataDir, FORMAT_FILE), newer);
    writeFileSync(
      join(dir, 'edge.yaml'),
      stringify({
        data_dir: './data',
        log: { level: 'error' },
        sim: { enabled: false },
        api: { enabled: false },
        foxglove: { enabled: false },
      }),
    );
    const expected = `data_dir ${dataDir} holds data format ${DATA_DIR_FORMAT + 1}, written by auraison-edge 9.0.0; this auraison-edge (0.1.0) reads format ${DATA_DIR_FORMAT} and older. Nothing was changed: run the newer auraison-edge again, or give this one another data_dir`;
    const config = parseConfigText(readFileSync(join(dir, 'edge.yaml'), 'utf8'), 'edge.yaml', {});
    const daemon = new Daemon({ config, log: pino({ level: 'silent' }), cwd: dir });
    const refused = await daemon.start().then(
      async () => {
        await daemon.close();
        return undefined;
      },
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(DataDirError);
    expect(errorText(refused)).toContain(expected);
    // Through the CLI, after the first refusal freed the data-dir lock: exit 2 (systemd does not restart-loop), for its
    // format, not "in use".
    const r = await runMain(['run', '--config', join(dir, 'edge.yaml')], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`auraison-edge run: ${expected}`);
    // bag import writes the catalog without the daemon: refused the same way.
    const imported = await runMain(
      ['bag', 'import', join(FIXTURES, 'bags/rosbags-rs/test_bag_mcap'), '--config', join(dir, 'edge.yaml')],
      { cwd: dir },
    );
    expect(imported.code).toBe(2);
    expect(imported.stderr).toBe(
      `auraison-edge bag: ${expected} (a rolled-back daemon would misread or damage newer data)\n`,
    );
    expect(readFileSync(join(dataDir, FORMAT_FILE), 'utf8')).toBe(newer);
    expect(existsSync(join(dataDir, 'log'))).toBe(false); // the journal was never opened
    expect(existsSync(join(dataDir, 'lakehouse'))).toBe(false);
  });

  it('format.json that does not say a format is refused too (DataDirError, exit 2), never guessed at', () => {
    const dataDir = join(work.path, 'garbled');
    mkdirSync(dataDir);
    for (const text of ['{"format": "2"}', 'not json', '{"format": 0}']) {
      writeFileSync(join(dataDir, FORMAT_FILE), text);
      expect(() => readDataDirFormat(dataDir)).toThrow(DataDirError);
      expect(() => readDataDirFormat(dataDir)).toThrow(
        /does not say which format the data dir holds .*nothing was changed/,
      );
    }
    writeFileSync(
      join(dataDir, FORMAT_FILE),
      JSON.stringify({ format: DATA_DIR_FORMAT, written_by: '0.1.0', path: dataDir }),
    );
    expect(readDataDirFormat(dataDir)).toEqual({ format: DATA_DIR_FORMAT, written_by: '0.1.0', path: dataDir });
  });
});
