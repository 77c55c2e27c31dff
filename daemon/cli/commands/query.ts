import { resolveDataDir } from '../../config/index.ts';
import type { StreamSummary } from '../../lakehouse/index.ts';
import {
  type Command,
  CsvPrinter,
  JsonPrinter,
  numberOption,
  Output,
  parseCommandArgs,
  TablePrinter,
  UsageError,
} from '../../cli-kit/index.ts';
import { lowerProcess, errorText } from '../../util/index.ts';
import { resolveConfig } from '../config-option.ts';

export const command: Command = {
  name: 'query',
  summary: 'Run read-only SQL over the local lakehouse',
  help: `Usage: auraison-edge query "SQL" [--json | --csv] [--config FILE] [--max-rows N]

Runs one read-only SQL statement (DuckDB dialect) over the lakehouse of the config's data dir:
  bags           one row per bag segment: path, time range, topics, size, checksum, sync state
  messages       one row per message: segment_id, bag, topic, type, log_time, publish_time, offset, size
  raw_messages   messages whose type has no definition, as bytes
  events         AgentEvents from the journal: seq, ts, event_id, run_id, kind, payload (JSON)
  "<topic>"      each projected topic, its message fields as typed columns named by path
Times are ns since the epoch (BIGINT). Every table has robot and date (partition) columns.
DESCRIBE "/odom" lists a table's columns. Rows are printed as they are read, so --max-rows may be large
(--csv > file for millions of rows); the table layout sizes its columns by the first 1000 rows.
It runs at the lowest niceness (19), as the daemon's queries do: on a busy robot it takes what CPU is left.

Examples:
  auraison-edge query 'SELECT avg("twist.twist.linear.x") FROM "/odom"'
  auraison-edge query 'SELECT topic, count(*) FROM messages GROUP BY topic' --csv

Options:
  --json         print {columns, rows, truncated, truncated_by?, warnings?}
  --csv          print CSV with a header row
  --max-rows N   at most N rows (default lakehouse.query_max_rows); a result cut there says so on stderr
  --config FILE  the daemon's config, for its data dir (default: $AURAISON_EDGE_CONFIG, else ./.auraison-edge)

Exit codes: 0 done, 1 the query failed or was refused (anything but SELECT), 2 bad usage.
`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        json: { type: 'boolean' },
        csv: { type: 'boolean' },
        config: { type: 'string' },
        'max-rows': { type: 'string' },
      },
      { min: 1, max: 1, names: 'SQL' },
    );
    if (values.json && values.csv) throw new UsageError('--json and --csv exclude each other');
    const { config } = resolveConfig(values.config, io.env);
    const maxRows =
      numberOption('max-rows', values['max-rows'], { min: 1, integer: true }) ?? config.lakehouse.query_max_rows;
    const { streamLakehouse, QUERY_PRIORITY } = await import('../../lakehouse/index.ts');
    // As the daemon's own queries: DuckDB's threads, started below, take only the CPU time the daemon leaves. Only
    // the CLI's own process is lowered: a caller running the command inside its process keeps its scheduling.
    if (io.ownsProcess === true) lowerProcess(QUERY_PRIORITY);
    const out = new Output(io.stdout);
    const printer = values.json ? new JsonPrinter(out) : values.csv ? new CsvPrinter(out) : new TablePrinter(out);
    let summary: StreamSummary;
    try {
      summary = await streamLakehouse(
        resolveDataDir(config, io.cwd),
        positionals[0]!,
        {
          start: (columns, warnings) => {
            for (const w of warnings) io.stderr(`auraison-edge query: warning: ${w}\n`);
            printer.start(columns);
          },
          row: (r) => printer.row(r),
        },
        { maxRows, timeoutMs: config.lakehouse.query_timeout_ms },
      );
    } catch (error) {
      out.flush();
      const message = errorText(error);
      const hint = /ran past \d+ ms and was stopped/.test(message)
        ? ` (lakehouse.query_timeout_ms, ${config.lakehouse.query_timeout_ms} ms in this config, sets how long a query may run; rows count too as they are printed)`
        : '';
      io.stderr(`auraison-edge query: ${message}${hint}\n`);
      return 1;
    }
    printer.end(summary, maxRows);
    out.flush();
    if (summary.truncated && !(printer instanceof TablePrinter)) {
      io.stderr(`auraison-edge query: warning: ${cutAt(summary, maxRows)}\n`);
    }
    return 0;
  },
};

/** Why the rows stop where they do, and how to get the rest. */
function cutAt(summary: StreamSummary, maxRows: number): string {
  return summary.truncated_by === 'max_bytes'
    ? `the result stops after ${summary.rows} rows, at the most bytes a result may take; select fewer columns or rows`
    : `the result stops at ${maxRows} rows (--max-rows, default lakehouse.query_max_rows) and holds more: give --max-rows N, or narrow it down (WHERE, LIMIT, GROUP BY)`;
}
