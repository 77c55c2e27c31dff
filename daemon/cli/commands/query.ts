import { resolveDataDir } from '../../config/index.ts';
import type { QueryColumn, StreamSummary } from '../../lakehouse/index.ts';
import { numberOption, parseCommandArgs } from '../args.ts';
import { UsageError, type Command } from '../command.ts';
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
    const { streamLakehouse } = await import('../../lakehouse/index.ts');
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
      const message = (error as Error).message;
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

/** stdout, written 64 KiB at a time: one write per row would cost more than the row. */
export class Output {
  #buffer: string[] = [];
  #size = 0;
  constructor(private readonly write: (text: string) => void) {}
  put(text: string): void {
    this.#buffer.push(text);
    this.#size += text.length;
    if (this.#size >= 65536) this.flush();
  }
  flush(): void {
    if (this.#buffer.length > 0) this.write(this.#buffer.join(''));
    this.#buffer = [];
    this.#size = 0;
  }
}

export interface Printer {
  start(columns: QueryColumn[]): void;
  row(values: unknown[]): void;
  end(summary: StreamSummary, maxRows: number): void;
}

export class JsonPrinter implements Printer {
  #first = true;
  constructor(private readonly out: Output) {}
  start(columns: QueryColumn[]): void {
    this.out.put(`{"columns":${JSON.stringify(columns)},"rows":[`);
  }
  row(values: unknown[]): void {
    this.out.put(`${this.#first ? '' : ','}${JSON.stringify(values)}`);
    this.#first = false;
  }
  end(summary: StreamSummary): void {
    const { truncated, truncated_by, warnings } = summary;
    this.out.put(
      `],${JSON.stringify({ truncated, ...(truncated_by ? { truncated_by } : {}), ...(warnings ? { warnings } : {}) }).slice(1)}\n`,
    );
  }
}

export class CsvPrinter implements Printer {
  constructor(private readonly out: Output) {}
  start(columns: QueryColumn[]): void {
    this.out.put(`${columns.map((c) => csvCell(c.name)).join(',')}\n`);
  }
  row(values: unknown[]): void {
    this.out.put(`${values.map(csvCell).join(',')}\n`);
  }
  end(): void {}
}

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Rows whose cells set the table's column widths; later rows are printed as they come, cut to those widths. */
const WIDTH_ROWS = 1000;
const MAX_WIDTH = 60;

export class TablePrinter implements Printer {
  #columns: string[] = [];
  #widths: number[] | undefined;
  #held: string[][] = [];
  #rows = 0;
  constructor(private readonly out: Output) {}
  start(columns: QueryColumn[]): void {
    this.#columns = columns.map((c) => c.name);
  }
  row(values: unknown[]): void {
    this.#rows++;
    const cells = values.map((v) => (v === null ? 'NULL' : typeof v === 'object' ? JSON.stringify(v) : String(v)));
    if (this.#widths) return this.out.put(`${this.#line(cells)}\n`);
    this.#held.push(cells);
    if (this.#held.length === WIDTH_ROWS) this.#header();
  }
  end(summary: StreamSummary, maxRows: number): void {
    if (!this.#widths) this.#header();
    const n = this.#rows;
    const cut = summary.truncated
      ? summary.truncated_by === 'max_bytes'
        ? ', cut at the most bytes a result may take'
        : `, truncated at ${maxRows}: give --max-rows N for more`
      : '';
    this.out.put(`(${n} row${n === 1 ? '' : 's'}${cut})\n`);
  }
  #header(): void {
    const widths = this.#columns.map((c, i) =>
      Math.min(
        MAX_WIDTH,
        this.#held.reduce((w, r) => Math.max(w, r[i]!.length), c.length),
      ),
    );
    this.#widths = widths;
    this.out.put(`${this.#line(this.#columns)}\n${widths.map((w) => '-'.repeat(w)).join('-+-')}\n`);
    for (const r of this.#held) this.out.put(`${this.#line(r)}\n`);
    this.#held = [];
  }
  #line(cells: string[]): string {
    const widths = this.#widths!;
    // A later row's wider cell overflows its column rather than lose digits; only past MAX_WIDTH is it cut.
    return cells
      .map((c, i) => (c.length > MAX_WIDTH ? `${c.slice(0, MAX_WIDTH - 3)}...` : c).padEnd(widths[i]!))
      .join(' | ');
  }
}
