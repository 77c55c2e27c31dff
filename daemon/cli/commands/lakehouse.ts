import { resolveDataDir } from '../../config/load.ts';
import type { CompactionReport } from '../../lakehouse/compaction.ts';
import { parseCommandArgs } from '../args.ts';
import { UsageError, type Command } from '../command.ts';
import { resolveConfig } from '../config-option.ts';

const HELP = `Usage: auraison-edge lakehouse compact [--all] [--config FILE] [--json]

  lakehouse compact
      Merges the lakehouse's small parquet files now, as the daemon does every 10 minutes: per table and
      per (robot, date) partition, the files of consecutive segments indexed at least
      lakehouse.compact_after_s ago (and of the events table's flushes) become one file per group, by
      levels (6 splits make a group, 6 such groups a bigger one, ...) up to lakehouse.compact_max_bytes a
      group. Queries answer exactly as before, reading fewer files. Safe beside the running daemon, and
      against a kill at any moment: the old files or the merged ones are listed, never both nor neither.

Options:
  --all          merge every finished segment, whatever its age (lakehouse.compact_after_s aside)
  --config FILE  the daemon's config, for its data dir and lakehouse settings
                 (default: $AURAISON_EDGE_CONFIG, else the embedded default)
  --json         print one JSON object: {merged: [...], files_before, files_after, pending, changed}

Exit codes: 0 done (nothing to merge included), 1 a merge failed (nothing of it was changed) or the
catalog stayed locked, 2 bad usage.
`;

export const command: Command = {
  name: 'lakehouse',
  summary: 'Lakehouse upkeep: merge small parquet files (compact)',
  help: HELP,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub !== 'compact') throw new UsageError(sub === undefined ? 'missing subcommand: compact' : `unknown subcommand "${sub}": expected compact`);
    const { values } = parseCommandArgs(rest, { all: { type: 'boolean' }, config: { type: 'string' }, json: { type: 'boolean' } });
    const { config } = resolveConfig(values.config, io.env);
    const { compact_after_s: afterS, compact_max_bytes: maxBytes } = config.lakehouse;
    if (afterS === 0 && !values.all) {
      io.stderr('auraison-edge lakehouse compact: compaction is off in this config (lakehouse.compact_after_s: 0): nothing was merged; --all merges every finished segment now\n');
      return 0;
    }
    const dataDir = resolveDataDir(config, io.cwd);
    const { compactLakehouse } = await import('../../lakehouse/compaction.ts');
    const { sweepStaging } = await import('../../lakehouse/housekeeping.ts');
    let report: CompactionReport;
    try {
      sweepStaging(dataDir); // what killed writers (a compaction killed mid-merge too) left
      report = await compactLakehouse({ dataDir, afterS: values.all ? 0 : afterS, maxBytes });
    } catch (error) {
      io.stderr(`auraison-edge lakehouse compact: ${(error as Error).message}\n`);
      return 1;
    }
    const { merged, filesBefore, filesAfter, pending, changed } = report;
    if (values.json) {
      io.stdout(`${JSON.stringify({ merged, files_before: filesBefore, files_after: filesAfter, pending, changed })}\n`);
      return 0;
    }
    const inputs = merged.reduce((n, m) => n + m.inputFiles, 0);
    const outputs = merged.reduce((n, m) => n + m.outputFiles, 0);
    const lines = [
      merged.length === 0
        ? `nothing to merge: ${filesBefore} parquet files listed${values.all ? '' : ` (only segments indexed over ${afterS} s ago are merged; --all merges every finished one)`}`
        : `merged ${merged.length} group${merged.length === 1 ? '' : 's'}: ${inputs} parquet files into ${outputs} (${filesBefore} files listed before, ${filesAfter} now)`,
      ...merged.map((m) => `  ${m.key}: ${m.inputFiles} files (${mb(m.bytesIn)}) into ${m.outputFiles} (${mb(m.bytesOut)}), ${m.rows} rows, ${(m.ms / 1000).toFixed(1)} s`),
      ...changed.map((key) => `  ${key}: left as it was (the catalog changed meanwhile: run again)`),
    ];
    io.stdout(`${lines.join('\n')}\n`);
    return 0;
  },
};

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
