import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { resolveDataDir } from '../../config/index.ts';
import type { ImportReport } from '../../lakehouse/index.ts';
import type { FileRepair } from '../../recorder/index.ts';
import { diskSpaceText, isDiskFull, errorText } from '../../util/index.ts';
import { type Command, type CommandIO, parseCommandArgs, UsageError } from '../../cli-kit/index.ts';
import { BAG_PAUSE_HELP, bagPause } from '../bag-pause.ts';
import { BAG_PLAY_HELP, BAG_PLAY_OPTIONS_HELP, bagPlay } from '../bag-play.ts';
import { BAG_SNAPSHOT_HELP, bagSnapshot } from '../bag-snapshot.ts';
import { BAG_SPLIT_HELP, bagSplit } from '../bag-split.ts';
import { resolveConfig } from '../config-option.ts';

const HELP = `Usage: auraison-edge bag info PATH [--json]
       auraison-edge bag import PATH... [--config FILE] [--msgs DIR]... [--allow-unknown] [--json]
       auraison-edge bag repair DIR|FILE.mcap [--json]
       auraison-edge bag play PATH [--rate R] [--loop] [--topics GLOB]... [--exclude GLOB]... [options]
       auraison-edge bag split [--no-wait] [--timeout S] [--url URL] [--config FILE] [--json]
       auraison-edge bag pause|resume [--url URL] [--config FILE] [--json]
       auraison-edge bag snapshot [--no-wait] [--timeout S] [--url URL] [--config FILE] [--json]

  bag info PATH [--json]
      What \`ros2 bag info\` prints: files, size, storage, duration, start and end, message count, and per
      topic its type, count and serialization format. PATH is a rosbag2 directory (mcap or sqlite3
      storage, metadata.yaml versions 4 to 9) or a bare .mcap or .db3 file. Each file is checked first
      (an MCAP file's magic, header and closing magic; a .db3 file's SQLite quick_check, which reads it
      all): a damaged one exits 1 naming it. A bag being recorded (its .recording marker names a live
      process) shows that process, the figures of its closed splits and its open split, as \`ros2 bag info\`
      does; so does a split of it given alone.

  bag import PATH... [--config FILE] [--msgs DIR]... [--allow-unknown] [--json]
      Ingests bags into the lakehouse of the config's data dir: each storage file becomes a row of
      \`bags\`, each message a row of \`messages\`, and each message of a projected topic a row of that
      topic's table with typed columns (query them with \`auraison-edge query\`). Files already imported
      are skipped. Messages whose type has no definition are kept as raw bytes (table raw_messages) and
      reported, and so are messages that do not decode as their type (corrupt data): the import is
      committed all the same, and exits 3 (unknown types alone exit 0 with --allow-unknown). A bad file
      imports nothing of its bag (exit 1). An empty bag (one split with no message, as rosbag2 and the
      recorder leave when nothing was published) imports 0 messages and adds nothing: exit 0.

  bag repair DIR|FILE.mcap [--json]
      Repairs a bag left open by a crash or damaged on disk: rewrites each MCAP split that lacks its
      footer or is damaged from the records it still holds (a damaged stretch is skipped up to the next
      chunk whose CRC checks), and rebuilds metadata.yaml where it does not list the splits with the
      messages they hold. Whole splits are left as they are (a whole bag: "nothing to repair"). Before a
      split is rewritten without every byte of it read, the original is kept as <split>.orig (.orig.1, ...
      when taken); so is a metadata.yaml it rewrites (metadata.yaml.orig). A split of which no message can
      be read is not modified, nor is anything else in the bag (exit 1). 0-byte splits are left in place.
      A bag in which nothing was recorded (only the recorder's .recording marker, or splits cut off before
      their first message) is finished as rosbag2 finishes one: one empty split, listed ("nothing was
      recorded"; cut-off bytes kept as <split>.orig). The bag's .recording marker is removed once it is
      repaired; a bag whose marker names a live recorder is not touched (exit 1): stop the daemon first.
      Temporary files of a metadata.yaml write whose writer was killed before renaming them
      (metadata.yaml.<pid>.<random>.tmp: the process is gone, or the file is over an hour old) are removed.
      A sqlite3 bag is only checked (SQLite's quick_check): a damaged .db3 exits 1, saying what salvages it.
      Only the splits of one recording are repaired as the bag (those named <bag>_<i>.mcap that share a
      stem with the files metadata.yaml lists, else with the directory's name); another recording's files
      are left alone, and a directory holding several recordings with nothing saying which is the bag is
      refused (exit 1). FILE.mcap repairs that one file on its own, writing no metadata.yaml.

${BAG_PLAY_HELP}
${BAG_SPLIT_HELP}
${BAG_PAUSE_HELP}
${BAG_SNAPSHOT_HELP}
${BAG_PLAY_OPTIONS_HELP}
Options:
  --config FILE     the daemon's config, for its data dir, robot id and message definitions
                    (default: $AURAISON_EDGE_CONFIG, else the embedded default)
  --msgs DIR        more ROS 2 interface packages to decode with (as bus.definitions.dirs); repeatable
  --allow-unknown   exit 0 even when messages of unknown types were kept raw (not corrupt ones)
  --json            print one JSON object

Exit codes: 0 done, 1 the bag is bad or the job failed (the message names the file and the problem; an
import failed this way committed nothing of that bag), 2 bad usage, 3 (import) committed, but messages were
kept as raw bytes: corrupt ones, or ones of unknown types without --allow-unknown; (split, snapshot) written,
but not indexed yet. split, pause, resume and snapshot exit 1 when no daemon answers or the daemon refuses.
`;

const SUBCOMMANDS = 'info, import, repair, play, split, pause, resume or snapshot';

export const command: Command = {
  name: 'bag',
  summary:
    'Inspect, import, repair and play rosbag2 bags (mcap and sqlite3); split, pause, resume or snapshot the recording',
  help: HELP,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === 'info') return info(rest, io);
    if (sub === 'import') return importCommand(rest, io);
    if (sub === 'repair') return repair(rest, io);
    if (sub === 'split') return bagSplit(rest, io);
    if (sub === 'play') return bagPlay(rest, io);
    if (sub === 'pause' || sub === 'resume') return bagPause(sub, rest, io);
    if (sub === 'snapshot') return bagSnapshot(rest, io);
    throw new UsageError(
      sub === undefined ? `missing subcommand: ${SUBCOMMANDS}` : `unknown subcommand "${sub}": expected ${SUBCOMMANDS}`,
    );
  },
};

async function info(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    { json: { type: 'boolean' } },
    { min: 1, max: 1, names: 'PATH' },
  );
  const { bagInfo, formatBagInfo, recordingBagInfo, BagError } = await import('../../bags/index.ts');
  const { liveRecorder } = await import('../../recorder/index.ts');
  try {
    const path = resolvePath(positionals[0]!, io);
    // A bag being recorded has an open split without its footer, which is no damage: say who records it instead.
    const dir = existsSync(path) && statSync(path).isFile() ? dirname(path) : path;
    const recorder = existsSync(dir) ? liveRecorder(dir) : undefined;
    const result = recorder !== undefined ? recordingBagInfo(dir, recorder) : await bagInfo(path);
    for (const w of result.warnings) io.stderr(`warning: ${w}\n`);
    io.stdout(values.json ? `${toJson(result)}\n` : formatBagInfo(result));
    return 0;
  } catch (error) {
    return fail(io, error, BagError);
  }
}

async function importCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      config: { type: 'string' },
      msgs: { type: 'string', multiple: true },
      'allow-unknown': { type: 'boolean' },
      json: { type: 'boolean' },
    },
    { min: 1, max: 1000, names: 'PATH' },
  );
  const { config } = resolveConfig(values.config, io.env);
  const dataDir = resolveDataDir(config, io.cwd);
  // a newer data format is refused (exit 2) before the catalog is written
  (await import('../../data-dir-version.ts')).readDataDirFormat(dataDir);
  const { DefinitionsRegistry } = await import('../../bus/index.ts');
  const { compileBagTopicSelection } = await import('../../bus/index.ts');
  const { importBag, oversizedLine } = await import('../../lakehouse/index.ts');
  const { BagError } = await import('../../bags/index.ts');
  const registry = new DefinitionsRegistry({
    distro: config.bus.definitions.distro,
    dirs: [...config.bus.definitions.dirs, ...(values.msgs ?? []).map((d) => resolvePath(d, io))],
  });
  const project = compileBagTopicSelection(config.lakehouse.project, config.lakehouse.project_exclude);
  const reports: ImportReport[] = [];
  for (const path of positionals) {
    try {
      const options = {
        path: resolvePath(path, io),
        dataDir,
        robot: config.robot.id,
        registry,
        project,
        projectMaxBytes: config.lakehouse.project_max_message_bytes,
        batchRows: config.lakehouse.batch_rows,
      };
      const report = await importBag(options);
      reports.push(report);
      for (const w of report.warnings) io.stderr(`warning: ${w}\n`);
      for (const u of report.unknownTypes)
        io.stderr(
          `${u.file}: ${u.count} message(s) on ${u.topic} kept as raw bytes (table raw_messages): ${u.reason}\n`,
        );
      for (const c of report.corrupt)
        io.stderr(
          `${c.file}: ${c.count} message(s) on ${c.topic} do not decode as their type ${c.type}: corrupt data, kept as raw bytes (table raw_messages); the first: ${c.reason}\n`,
        );
      for (const o of report.oversized)
        io.stderr(`warning: ${oversizedLine(o, config.lakehouse.project_max_message_bytes)}\n`);
      if (!values.json)
        io.stdout(
          isEmpty(report)
            ? `${report.bag}: imported 0 messages: the bag is empty (its storage files hold no message); nothing was added to ${dataDir}/lakehouse\n`
            : `${importLine(report)} into ${dataDir}/lakehouse\n`,
        );
    } catch (error) {
      if (values.json)
        io.stdout(
          `${toJson({ imported: await namedForQuery(reports, dataDir).catch(() => reports), error: errorText(error) })}\n`,
        ); // the import's error is the one to report
      const code = fail(io, error, BagError);
      const committed = reports.filter((r) => r.segments.some((s) => s.state === 'imported')).map((r) => r.bag);
      io.stderr(
        `nothing was imported from ${path}${committed.length ? `; the bags before it were imported and committed: ${committed.join(', ')}` : ''}\n`,
      );
      if (isDiskFull(error)) io.stderr(`${diskFullHint(dataDir)}\n`);
      return code;
    }
  }
  if (values.json)
    io.stdout(
      `${toJson({ imported: (await namedForQuery(reports, dataDir)).map((r) => (isEmpty(r) ? { ...r, empty: true } : r)) })}\n`,
    );
  // Exit 3, not 1: the data is in the lakehouse, and importing the same files again skips them.
  const corrupt = reports.reduce((n, r) => n + r.corrupt.reduce((m, c) => m + c.count, 0), 0);
  const unknown = values['allow-unknown']
    ? 0
    : reports.reduce((n, r) => n + r.unknownTypes.reduce((m, u) => m + u.count, 0), 0);
  if (corrupt > 0)
    io.stderr(
      `${corrupt} message(s) do not decode as their type: corrupt data, kept as raw bytes (table raw_messages)\n`,
    );
  if (unknown > 0) {
    io.stderr(
      `${unknown} message(s) of types without a definition were kept as raw bytes, not decoded (table raw_messages); for bags still to import, add their packages to bus.definitions.dirs (or --msgs DIR), or pass --allow-unknown to accept them raw\n`,
    );
  }
  if (corrupt > 0 || unknown > 0) {
    io.stderr('the import is committed, raw messages included (exit 3); importing the same files again skips them\n');
    return 3;
  }
  return 0;
}

/** A bag read whole that held no message (not one whose files were all imported before: those are listed). */
function isEmpty(report: ImportReport): boolean {
  return report.messages === 0 && report.segments.length === 0;
}

/**
 * The reports with their tables named as `query` names them: a topic's projection by its topic
 * (`/test/nav_msgs/odometry`), not by the directory it is stored in (`topic_test_nav_msgs_odometry`).
 */
async function namedForQuery(reports: ImportReport[], dataDir: string): Promise<ImportReport[]> {
  if (reports.every((r) => r.tables.every((t) => t === 'messages' || t === 'raw_messages'))) return reports;
  const { queryLakehouse, topicViews } = await import('../../lakehouse/index.ts');
  const listed = await queryLakehouse(dataDir, 'SELECT topic, type, table_name FROM projections ORDER BY topic, type', {
    maxRows: Infinity,
  });
  const names = new Map(
    topicViews(
      listed.rows.map(([topic, type, table]) => ({ topic: String(topic), type: String(type), table: String(table) })),
    ).map((p) => [p.table, p.name]),
  );
  return reports.map((r) => ({ ...r, tables: r.tables.map((t) => names.get(t) ?? t) }));
}

/** `<bag>: imported N messages (D decoded, R raw) from F file(s), K already imported`. */
function importLine(report: ImportReport): string {
  const skipped = report.segments.filter((s) => s.state === 'already imported');
  const rawBefore = skipped.reduce((n, s) => n + (s.raw ?? 0), 0);
  const already = skipped.length
    ? `, ${skipped.length} already imported${rawBefore ? ` (${rawBefore} of their messages were kept raw then)` : ''}`
    : '';
  return `${report.bag}: imported ${report.messages} messages (${report.decoded} decoded, ${report.raw} raw) from ${report.segments.length - skipped.length} file(s)${already}`;
}

async function repair(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    { json: { type: 'boolean' } },
    { min: 1, max: 1, names: 'DIR or FILE.mcap' },
  );
  const { repairBag } = await import('../../recorder/index.ts');
  const { BagError } = await import('../../bags/index.ts');
  try {
    const report = await repairBag(resolvePath(positionals[0]!, io));
    if (values.json) io.stdout(`${toJson(report)}\n`);
    else {
      for (const f of report.files) io.stdout(`${formatFileRepair(f)}\n`);
      const removed = report.tempFilesRemoved ?? [];
      if (removed.length > 0)
        io.stdout(
          `${report.dir}: removed ${removed.length} temporary file(s) left by a writer killed before it renamed them: ${removed.join(', ')}\n`,
        );
      const whole = report.files.every((f) => f.state !== 'repaired');
      const changed =
        report.metadataRewritten ||
        report.markerRemoved ||
        report.files.some((f) => f.state === 'repaired' || f.state === 'created');
      if (report.otherRecordings)
        io.stdout(
          `${report.dir}: left alone ${report.otherRecordings.join(', ')}: another recording's file${report.otherRecordings.length === 1 ? '' : 's'}, not named as this bag's splits are (repair ${report.otherRecordings.length === 1 ? 'it' : 'each'} on its own: \`auraison-edge bag repair ${report.dir}/${report.otherRecordings[0]}\`)\n`,
        );
      if (report.lone) {
        if (whole) io.stdout(`${report.dir}: nothing to repair: the file is whole (${report.messageCount} messages)\n`);
      } else if (report.empty && changed)
        io.stdout(
          `${report.dir}: nothing was recorded: finished as an empty bag (metadata.yaml lists one split with no message${report.markerRemoved ? '; its .recording marker removed' : ''})\n`,
        );
      else if (report.storage === 'sqlite3')
        io.stdout(
          `${report.dir}: nothing to repair: its sqlite3 files pass SQLite's quick_check (SQLite recovers its own journal on open); bag repair rewrites only MCAP files\n`,
        );
      else if (!report.metadataRewritten && whole)
        io.stdout(
          `${report.dir}: nothing to repair: every split is whole and metadata.yaml lists them (${report.messageCount} messages); ${report.markerRemoved ? 'only its .recording marker was removed' : `nothing ${removed.length > 0 ? 'else ' : ''}was changed`}\n`,
        );
      else if (!report.metadataRewritten)
        io.stdout(
          `${report.dir}: metadata.yaml already lists the splits with the messages they hold (${report.messageCount}): left as it is${report.markerRemoved ? '; its .recording marker removed' : ''}\n`,
        );
      else
        io.stdout(
          `${report.dir}: metadata.yaml rewritten, ${report.messageCount} messages${report.missingListed ? ` (the old one listed ${report.missingListed.join(', ')}, not in the bag: left off)` : ''}${report.metadataBackup ? `; the old one kept as ${report.metadataBackup}` : ''}${report.markerRemoved ? '; its .recording marker removed' : ''}\n`,
        );
    }
    return 0;
  } catch (error) {
    return fail(io, error, BagError);
  }
}

function formatFileRepair(f: FileRepair): string {
  if (f.state === 'created') return `${f.file}: written as an empty split (nothing was recorded)`;
  if (f.state === 'empty') return `${f.file}: empty (0 bytes), left as it is and not listed in metadata.yaml`;
  if (f.state === 'intact') return `${f.file}: intact, ${f.messages} messages`;
  const lost: string[] = [];
  const damage = f.damage.filter((d) => !d.indexOnly);
  if (damage.length > 0) {
    const shown = firstThree(damage.map((d) => `${d.length} from byte ${d.offset}: ${d.problem}`));
    lost.push(`${damage.reduce((n, d) => n + d.length, 0)} bytes held no readable record (${shown.join('; ')})`);
  }
  if (f.droppedMessages > 0)
    lost.push(`${f.droppedMessages} messages lost their channel record to the damage and were left out`);
  const index = f.damage.filter((d) => d.indexOnly);
  const rebuilt = index.length
    ? `; ${index.length} damaged or cut-off index record(s) (${firstThree(index.map((d) => `${d.length} bytes from byte ${d.offset}`)).join(', ')}) rebuilt`
    : '';
  const backup = f.backup ? `; the original is kept as ${f.backup}` : '';
  return `${f.file}: repaired, ${f.messages} messages kept${lost.length ? `; ${lost.join('; ')}` : ''}${rebuilt}${backup}`;
}

/** The first three of `items`, and how many more there are. */
function firstThree(items: string[]): string[] {
  return items.length > 3 ? [...items.slice(0, 3), `and ${items.length - 3} more`] : items;
}

/** What to do when the data dir's disk is full, with how full it is. */
function diskFullHint(dataDir: string): string {
  return `the disk under ${dataDir} is full${diskSpaceText(dataDir)}: free space there (delete old bags or lower retention.max_bytes, which the daemon applies) and run the same import again; bags already imported are skipped`;
}

function fail(io: CommandIO, error: unknown, known: new (...args: never[]) => Error): number {
  const message = error instanceof known ? error.message : `${errorText(error) ?? String(error)}`;
  io.stderr(`auraison-edge bag: ${message}\n`);
  return 1;
}

function resolvePath(path: string, io: CommandIO): string {
  return path.startsWith('/') ? path : `${io.cwd}/${path}`;
}

function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}
