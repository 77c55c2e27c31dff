import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { queryLakehouse, QueryRefused } from './query.ts';
import { QueryProcess, QueryProcessExited } from './query-process.ts';
import { errorText } from '../util/index.ts';
import { waitFor } from '../../test/helpers/wait.ts';

/** Runs until stopped: 10^10 rows. */
const ENDLESS = 'SELECT sum(a.range * b.range) FROM range(100000) a, range(100000) b';

const dataDir = mkdtempSync(join(tmpdir(), 'query-process-'));
const queries = new QueryProcess();
afterAll(async () => {
  await queries.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Each thread of process `pid`: its name, scheduling policy (/proc's field 41: 0 other) and niceness (field 19). */
function threads(pid: number): { name: string; policy: number; nice: number }[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((tid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      return [{ name, policy: Number(fields[41 - 3]), nice: Number(fields[19 - 3]) }];
    } catch {
      return []; // the thread ended as the list was read
    }
  });
}

/** Resolves once process `pid` has more threads than `before`: DuckDB's, started for the query. */
async function threadsStarted(pid: number, before: number): Promise<void> {
  await waitFor(() => threads(pid).length > before, "DuckDB's threads for the query");
}

describe('queries in a process of their own', () => {
  it.runIf(process.platform === 'linux')(
    "runs a query in another process, every thread of it at nice 19 while DuckDB's threads compute",
    async () => {
      await queries.query(dataDir, 'SELECT 1');
      const pid = queries.pid!;
      expect(pid).not.toBe(process.pid);
      const before = threads(pid).length;
      const stop = new AbortController();
      const running = queries.query(dataDir, ENDLESS, { signal: stop.signal });
      await threadsStarted(pid, before);
      const seen = threads(pid);
      expect(seen.length).toBeGreaterThan(before);
      expect(seen.filter((t) => t.policy !== 0 || t.nice !== 19)).toEqual([]);
      expect(queries.scheduling).toBe('SCHED_OTHER nice 19');
      stop.abort();
      await expect(running).rejects.toThrow('the query was stopped: the daemon is stopping');
    },
  );

  it('answers a query its process died in with an error, and the next query starts the process anew', async () => {
    await queries.query(dataDir, 'SELECT 1');
    const first = queries.pid!;
    const running = queries.query(dataDir, ENDLESS);
    process.kill(first, 'SIGKILL');
    const error = await running.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueryProcessExited);
    expect(errorText(error)).toMatch(/the query process \(pid \d+\) ended \(SIGKILL\) while this query ran/);
    expect((await queries.query(dataDir, 'SELECT 42 AS n')).rows).toEqual([[42]]);
    expect(queries.pid).not.toBe(first);
  });

  // Its process runs at nice 19: with the cores held by other work (test:stress), its 8 queries may take a minute.
  it(
    'answers as the query in this process does: rows, types, the limits that cut them and the errors',
    { timeout: 240_000 },
    async () => {
      const asked: [string, { maxRows?: number; maxBytes?: number; timeoutMs?: number }][] = [
        ["SELECT range AS n, 'x' || range AS s, [range, 2] AS l, 2::HUGEINT ** 70 AS big FROM range(700)", {}],
        ['SELECT range FROM range(1000)', { maxRows: 300 }],
        ["SELECT repeat('y', 1000) FROM range(50)", { maxBytes: 10_000 }],
        ['SELECT count(*) FROM messages', {}],
        [ENDLESS, { timeoutMs: 200 }],
        ['DELETE FROM messages', {}],
        ['SELEC 1', {}],
        ['SELECT nope FROM events', {}],
      ];
      for (const [sql, options] of asked) {
        const here = await queryLakehouse(dataDir, sql, options).catch((e: Error) => e);
        const there = await queries.query(dataDir, sql, options).catch((e: Error) => e);
        if (here instanceof Error) {
          expect(there, sql).toBeInstanceOf(here.constructor);
          expect(errorText(there), sql).toBe(here.message);
        } else expect(there, sql).toEqual(here);
      }
      await expect(queries.query(dataDir, 'DROP TABLE events')).rejects.toBeInstanceOf(QueryRefused);
    },
  );

  it('answers a query asked once it is closed, and leaves no process running after it', async () => {
    const closed = new QueryProcess();
    await closed.close();
    expect((await closed.query(dataDir, 'SELECT 7 AS n')).rows).toEqual([[7]]);
    const pid = closed.pid;
    // The process ends on its own: its exit clears the pid (the test's timeout fails a process left running).
    await waitFor(() => closed.pid === undefined, 'the closed query process to exit');
    expect(pid).toBeDefined();
  });

  it('hands a streaming sink its rows in order, a batch at a time', async () => {
    const rows: unknown[][] = [];
    let columns: unknown;
    const summary = await queries.stream(
      dataDir,
      'SELECT range AS n FROM range(1000)',
      { start: (c) => (columns = c), row: (r) => rows.push(r) },
      { maxRows: 600 },
    );
    expect(columns).toEqual([{ name: 'n', type: 'BIGINT' }]);
    expect(rows).toEqual(Array.from({ length: 600 }, (_, i) => [String(i)])); // BIGINTs as strings, as in this process
    expect(summary).toEqual({ rows: 600, truncated: true, truncated_by: 'max_rows' });
  });
});
