import { resolveDataDir } from '../../config/load.ts';
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

Examples:
  auraison-edge query 'SELECT avg("twist.twist.linear.x") FROM "/odom"'
  auraison-edge query 'SELECT topic, count(*) FROM messages GROUP BY topic' --csv

Options:
  --json         print {columns, rows, truncated, truncated_by?, warnings?}
  --csv          print CSV with a header row
  --max-rows N   at most N rows (default lakehouse.query_max_rows)
  --config FILE  the daemon's config, for its data dir (default: $AURAISON_EDGE_CONFIG, else ./.auraison-edge)

Exit codes: 0 done, 1 the query failed or was refused (anything but SELECT), 2 bad usage.
`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, { json: { type: 'boolean' }, csv: { type: 'boolean' }, config: { type: 'string' }, 'max-rows': { type: 'string' } }, { min: 1, max: 1, names: 'SQL' });
    if (values.json && values.csv) throw new UsageError('--json and --csv exclude each other');
    const { config } = resolveConfig(values.config, io.env);
    const maxRows = numberOption('max-rows', values['max-rows'], { min: 1, integer: true }) ?? config.lakehouse.query_max_rows;
    const { queryLakehouse } = await import('../../lakehouse/query.ts');
    let result;
    try {
      result = await queryLakehouse(resolveDataDir(config, io.cwd), positionals[0]!, { maxRows, timeoutMs: config.lakehouse.query_timeout_ms });
    } catch (error) {
      io.stderr(`auraison-edge query: ${(error as Error).message}\n`);
      return 1;
    }
    for (const w of result.warnings ?? []) io.stderr(`auraison-edge query: warning: ${w}\n`);
    if (values.json) io.stdout(`${JSON.stringify(result)}\n`);
    else if (values.csv) {
      const cell = (v: unknown) => {
        const s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
        return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
      };
      io.stdout(`${[result.columns.map((c) => cell(c.name)).join(','), ...result.rows.map((r) => r.map(cell).join(','))].join('\n')}\n`);
    } else {
      const text = (v: unknown) => (v === null ? 'NULL' : typeof v === 'object' ? JSON.stringify(v) : String(v));
      const cells = [result.columns.map((c) => c.name), ...result.rows.map((r) => r.map(text))];
      const widths = result.columns.map((_, i) => Math.min(60, Math.max(...cells.map((r) => r[i]!.length))));
      const line = (r: string[]) => r.map((c, i) => (c.length > 60 ? `${c.slice(0, 57)}...` : c).padEnd(widths[i]!)).join(' | ');
      io.stdout(`${line(cells[0]!)}\n${widths.map((w) => '-'.repeat(w)).join('-+-')}\n${cells.slice(1).map(line).join('\n')}${cells.length > 1 ? '\n' : ''}(${result.rows.length} row${result.rows.length === 1 ? '' : 's'}${result.truncated ? `, truncated at ${maxRows}` : ''})\n`);
    }
    return 0;
  },
};
