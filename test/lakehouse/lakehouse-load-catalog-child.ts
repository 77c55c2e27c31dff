/**
 * Another process on the lakehouse catalog, for test/lakehouse/lakehouse-load-*.test.ts: what a user's DuckDB
 * shell or script does beside the daemon. `hold-rw` / `hold-ro` CATALOG: opens it (waiting while someone
 * else holds it), prints "holding", and keeps it open until stdin ends, then prints "released".
 * `write` CATALOG WAIT_MS: one write as the daemon makes it; prints "wrote" or "locked: <message>".
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { withCatalog } from '../../daemon/lakehouse/catalog.ts';
import { errorText } from '../../daemon/util/index.ts';
import { waitForValue } from '../helpers/wait.ts';

const [mode, catalog, wait] = process.argv.slice(2) as [string, string, string | undefined];
if (mode === 'write') {
  try {
    await withCatalog(catalog, async (conn) => void (await conn.run('CHECKPOINT')), { timeoutMs: Number(wait) });
    process.stdout.write('wrote\n');
  } catch (error) {
    process.stdout.write(`locked: ${errorText(error)}\n`);
  }
} else {
  // Opened once the catalog's lock is free (another process may hold it).
  const instance = await waitForValue(
    () => DuckDBInstance.create(catalog, mode === 'hold-ro' ? { access_mode: 'READ_ONLY' } : {}).catch(() => undefined),
    'the catalog to open',
    120_000,
  );
  const conn = await instance.connect();
  await conn.run('SELECT count(*) FROM bags');
  process.stdout.write('holding\n');
  process.stdin.resume();
  await new Promise((r) => process.stdin.on('end', r));
  conn.closeSync();
  instance.closeSync();
  process.stdout.write('released\n');
}
