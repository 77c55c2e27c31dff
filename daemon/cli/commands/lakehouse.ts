import { resolveDataDir } from '../../config/index.ts';
import { existsSync } from 'node:fs';
import type { Room } from '../../lakehouse/index.ts';
import type { CompactionReport, MergeReport } from '../../lakehouse/index.ts';
import { type Command, parseCommandArgs, UsageError } from '../../cli-kit/index.ts';
import { resolveConfig } from '../config-option.ts';
import { errorText } from '../../util/index.ts';

const HELP = `Usage: auraison-edge lakehouse compact [--all] [--config FILE] [--json]

  lakehouse compact
      Merges the lakehouse's small parquet files now, as the daemon does every 10 minutes: per table and
      per (robot, date) partition, the files of consecutive segments indexed at least
      lakehouse.compact_after_s ago (and of the events table's flushes) become one file per group, by
      levels (6 splits make a group, 6 such groups a bigger one, ...) up to lakehouse.compact_max_bytes a
      group. Queries answer exactly as before, reading fewer files. Safe beside the running daemon, and
      against a kill at any moment: the old files or the merged ones are listed, never both nor neither.
      A merge that fails (a damaged parquet file) changes nothing and the others are still made. No merge
      starts without room for its merged files beside the old ones, plus what retention keeps free for
      the recorder (recorder.min_free_bytes and a margin) when the config records.

Options:
  --all          merge every finished segment, whatever its age (lakehouse.compact_after_s aside)
  --config FILE  the daemon's config, for its data dir and lakehouse settings
                 (default: $AURAISON_EDGE_CONFIG, else the embedded default)
  --json         print one JSON object: {merged: [{key, table, members, files_in, files_out, bytes_in,
                 bytes_out, rows, ms}], files_before, files_after, pending, changed: [key], failed:
                 [{key, error}], stopped_by: null | "no room"}

Exit codes: 0 done (nothing to merge included), 1 a merge failed (nothing of it was changed; the others
were made), the disk had no room for the next merge, or the catalog stayed locked, 2 bad usage.
`;

export const command: Command = {
  name: 'lakehouse',
  summary: 'Lakehouse upkeep: merge small parquet files (compact)',
  help: HELP,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub !== 'compact')
      throw new UsageError(
        sub === undefined ? 'missing subcommand: compact' : `unknown subcommand "${sub}": expected compact`,
      );
    const { values } = parseCommandArgs(rest, {
      all: { type: 'boolean' },
      config: { type: 'string' },
      json: { type: 'boolean' },
    });
    const { config } = resolveConfig(values.config, io.env);
    const { compact_after_s: afterS, compact_max_bytes: maxBytes } = config.lakehouse;
    if (afterS === 0 && !values.all) {
      io.stderr(
        'auraison-edge lakehouse compact: compaction is off in this config (lakehouse.compact_after_s: 0): nothing was merged; --all merges every finished segment now\n',
      );
      return 0;
    }
    const dataDir = resolveDataDir(config, io.cwd);
    const { compactLakehouse } = await import('../../lakehouse/index.ts');
    const { roomForMerge } = await import('../../lakehouse/index.ts');
    const { lakehousePaths } = await import('../../lakehouse/index.ts');
    const { sweepStaging } = await import('../../lakehouse/index.ts');
    const catalog = lakehousePaths(dataDir).catalog;
    if (!existsSync(catalog) && !values.json) {
      io.stdout(`nothing to merge: no lakehouse under ${dataDir} yet (${catalog} does not exist)\n`);
      return 0;
    }
    // As the daemon: what retention keeps free for the recorder, when this config records, stays free.
    const minFreeBytes = config.recorder.enabled ? config.recorder.min_free_bytes : undefined;
    let room: Room | undefined;
    let report: CompactionReport;
    try {
      sweepStaging(dataDir); // what killed writers (a compaction killed mid-merge too) left
      report = await compactLakehouse({
        dataDir,
        afterS: values.all ? 0 : afterS,
        maxBytes,
        keepGoing: true,
        roomFor: async (bytes) => {
          const r = await roomForMerge(dataDir, bytes, minFreeBytes);
          room = r;
          return r?.ok ?? true;
        },
      });
    } catch (error) {
      io.stderr(`auraison-edge lakehouse compact: ${errorText(error)}\n`);
      return 1;
    }
    const { merged, filesBefore, filesAfter, pending, changed, failed, stoppedBy } = report;
    const code = failed.length > 0 || stoppedBy === 'no room' ? 1 : 0;
    // (What failed, and a disk without room, go to stderr with --json too.)
    for (const f of failed) io.stderr(`auraison-edge lakehouse compact: ${f.error}\n`);
    if (stoppedBy === 'no room') {
      const need = report.roomNeeded ?? 0;
      const kept =
        room && room.keep > 0
          ? ` plus ${mb(room.keep)} kept free for the recorder (recorder.min_free_bytes and a margin)`
          : '';
      io.stderr(
        `auraison-edge lakehouse compact: not enough free space for the next merge: it needs ${mb(need)} for the merged files beside those they replace${kept}, ` +
          `and ${mb(room?.free ?? 0)} are free under ${dataDir}; ${pending} merge${pending === 1 ? '' : 's'} left as they were. Free space there (retention, or delete old bags) and run again\n`,
      );
    }
    if (values.json) {
      io.stdout(
        `${JSON.stringify({ merged: merged.map(jsonMerge), files_before: filesBefore, files_after: filesAfter, pending, changed, failed, stopped_by: stoppedBy ?? null })}\n`,
      );
      return code;
    }
    const inputs = merged.reduce((n, m) => n + m.inputFiles, 0);
    const outputs = merged.reduce((n, m) => n + m.outputFiles, 0);
    const lines = [
      merged.length === 0
        ? `${failed.length > 0 || stoppedBy ? 'nothing was merged' : 'nothing to merge'}: ${filesBefore} parquet files listed${values.all || failed.length > 0 || stoppedBy ? '' : ` (only segments indexed over ${afterS} s ago are merged; --all merges every finished one)`}`
        : `merged ${merged.length} group${merged.length === 1 ? '' : 's'}: ${inputs} parquet files into ${outputs} (${filesBefore} files listed before, ${filesAfter} now)`,
      ...merged.map(
        (m) =>
          `  ${m.key}: ${m.inputFiles} files (${mb(m.bytesIn)}) into ${m.outputFiles} (${mb(m.bytesOut)}), ${m.rows} rows, ${(m.ms / 1000).toFixed(1)} s`,
      ),
      ...changed.map((key) => `  ${key}: left as it was (the catalog changed meanwhile: run again)`),
    ];
    io.stdout(`${lines.join('\n')}\n`);
    return code;
  },
};

function jsonMerge(m: MergeReport) {
  return {
    key: m.key,
    table: m.table,
    members: m.members,
    files_in: m.inputFiles,
    files_out: m.outputFiles,
    bytes_in: m.bytesIn,
    bytes_out: m.bytesOut,
    rows: m.rows,
    ms: m.ms,
  };
}

function mb(bytes: number): string {
  return bytes < 1e6 ? `${(bytes / 1e3).toFixed(1)} kB` : `${(bytes / 1e6).toFixed(1)} MB`;
}
