import type { DuckDBConnection } from '@duckdb/node-api';

/**
 * What to say when a fleet query names a table the lake lacks. The robots' topics are tables named
 * `topic_<topic>` (`/odom` is topic_odom), and DuckDB's own suggestion goes by spelling alone (`odom` got
 * "Did you mean topic_map?"): a name that is a topic's without its prefix is pointed at that table when the lake
 * has it. Runs after the failed query's transaction has ended.
 */
export async function missingTableHint(c: DuckDBConnection, message: string): Promise<string> {
  const missing = /Table with name "?([^"\s!]+)"? does not exist/.exec(message)?.[1];
  if (missing === undefined || missing.startsWith('topic_')) return message;
  const table = `topic_${missing.replace(/^\/+/, '').replaceAll('/', '_')}`;
  const found = await c
    .runAndReadAll('SELECT count(*) FROM duckdb_tables() WHERE table_name = $1', [table])
    .then((r) => Number(r.getRows()[0]?.[0] ?? 0) > 0)
    .catch(() => false);
  const head = message.split(/\s*Did you mean/)[0]!.replace(/!$/, '');
  return found
    ? `${head}: a robot's topic is the table ${table} here (did you mean ${table}?)`
    : `${head}: a robot's topic is a table named topic_<topic> (/odom: topic_odom), and the lake has no ${table}; SHOW TABLES lists its tables`;
}
