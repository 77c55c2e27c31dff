import { afterEach, describe, expect, it } from 'vitest';
import { Lakehouse } from '../../daemon/lakehouse/lakehouse.ts';
import { silentLogger } from '../../daemon/log.ts';
import { startHarness, type Harness, type HarnessOptions } from './harness.ts';
import { http } from './http.ts';
import { waitFor } from '../helpers/wait.ts';
import { queryProcesses } from '../helpers/query-processes.ts';

/** POST /query on the real lakehouse (DuckDB): the limits a reply is kept within. */

let h: Harness | undefined;
let lakehouse: Lakehouse | undefined;
afterEach(async () => {
  await lakehouse?.close(); // ends its query process
  await h?.close();
  h = lakehouse = undefined;
});

async function withLakehouse(api: HarnessOptions['api'] = {}) {
  // Its query process runs at nice 19: under test:stress's CPU hogs a query may take past the default 10 s.
  h = await startHarness({ api: { ...api, query: { timeout_ms: 60_000, ...api.query } } });
  const { lakehouse: settings, retention } = h.config;
  lakehouse = new Lakehouse({
    dataDir: h.dataDir,
    robot: 'r1',
    definitions: h.definitions,
    log: silentLogger(),
    journal: undefined,
    settings,
    retention: { ...retention, enabled: false },
    syncRequired: false,
  });
  h.components.set('lakehouse', lakehouse);
  return h;
}

const MiB = 1024 * 1024;

describe('POST /query limits', { timeout: 240_000 }, () => {
  it('cuts the rows at api.query.max_bytes of JSON, says so, and never sends more', async () => {
    const h = await withLakehouse({ query: { max_bytes: MiB } });
    // 100 rows of 100 kB: 10 MB in all, ten times the limit.
    const r = await http(h.url, '/query', {
      body: { sql: "SELECT i::INTEGER, repeat('x', 100000) AS big FROM range(100) t(i)" },
    });
    expect(r.status).toBe(200);
    expect(r.json.truncated).toBe(true);
    expect(r.json.truncated_by).toBe('max_bytes');
    expect(r.json.truncated_reason).toContain(`would pass ${MiB} bytes (api.query.max_bytes`);
    const rows = r.json.rows as [number, string][];
    expect(rows.length).toBe(10); // as many whole rows as fit
    expect(rows.map((row) => row[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(JSON.stringify(rows).length).toBeLessThanOrEqual(MiB);

    // One value larger than the limit: no row fits, and the reply is still small.
    const huge = await http(h.url, '/query', { body: { sql: "SELECT repeat('x', 5000000) AS big" } });
    expect(huge.status).toBe(200);
    expect(huge.json).toMatchObject({ rows: [], truncated: true, truncated_by: 'max_bytes' });
    expect(huge.text.length).toBeLessThan(4096);

    // A request may ask for less, not more.
    const less = await http(h.url, '/query', {
      body: { sql: "SELECT repeat('x', 100000) FROM range(100)", max_bytes: 250_000 },
    });
    expect((less.json.rows as unknown[]).length).toBe(2);
    const more = await http(h.url, '/query', {
      body: { sql: "SELECT repeat('x', 100000) FROM range(100)", max_bytes: 100 * MiB },
    });
    expect((more.json.rows as unknown[]).length).toBe(10);
  });

  it('says which limit cut the rows when it is max_rows, and nothing when none did', async () => {
    const h = await withLakehouse({ query: { max_rows: 5 } });
    const cut = await http(h.url, '/query', { body: { sql: 'SELECT i::INTEGER FROM range(10) t(i)' } });
    expect(cut.json).toMatchObject({ truncated: true, truncated_by: 'max_rows' });
    expect(cut.json.truncated_reason).toContain('more than 5 rows (api.query.max_rows');
    expect((cut.json.rows as unknown[]).length).toBe(5);
    const whole = await http(h.url, '/query', { body: { sql: 'SELECT i::INTEGER FROM range(5) t(i)' } });
    expect(whole.json).toMatchObject({ rows: [[0], [1], [2], [3], [4]], truncated: false });
    expect(whole.json).not.toHaveProperty('truncated_reason');
  });

  it('runs the query under a DuckDB memory limit of at most 1 GiB, which it cannot change', async () => {
    const h = await withLakehouse();
    const r = await http(h.url, '/query', { body: { sql: "SELECT current_setting('memory_limit') AS m" } });
    expect(r.status).toBe(200);
    const [value, unit] = String((r.json.rows as string[][])[0]![0]).split(' ');
    expect(['MiB', 'GiB']).toContain(unit);
    expect(Number(value) * (unit === 'GiB' ? 1024 : 1)).toBeLessThanOrEqual(1024);
    const set = await http(h.url, '/query', { body: { sql: "SET memory_limit = '100GB'" } });
    expect(set.status).toBe(400);
  });

  it.runIf(process.platform === 'linux')(
    'answers 503 when the query process dies under a query; the daemon stays up and the next query runs',
    async () => {
      const h = await withLakehouse();
      expect((await http(h.url, '/query', { body: { sql: 'SELECT 1' } })).status).toBe(200);
      expect(queryProcesses()).toHaveLength(1);
      // Every query process is killed until the query is answered: whenever it reached one, that one dies under it.
      let answered = false;
      const killed = new Set<number>();
      // Every query process is killed as it appears, until the query is answered.
      const killer = waitFor(
        () => {
          for (const pid of queryProcesses().filter((p) => !killed.has(p))) {
            process.kill(pid, 'SIGKILL');
            killed.add(pid);
          }
          return answered;
        },
        'the query to be answered',
        120_000,
      );
      const r = await http(h.url, '/query', {
        body: { sql: 'SELECT sum(a.range * b.range) FROM range(100000) a, range(100000) b' },
      });
      answered = true;
      await killer;
      expect(r.status).toBe(503);
      expect(r.json).toMatchObject({ error: 'unavailable' });
      expect(r.json.message).toMatch(/the query process \(pid \d+\) ended \(SIGKILL\) while this query ran/);
      const next = await http(h.url, '/query', { body: { sql: 'SELECT 42 AS n' } });
      expect(next.json.rows).toEqual([[42]]);
      expect(queryProcesses().filter((pid) => killed.has(pid))).toEqual([]);
    },
  );
});
