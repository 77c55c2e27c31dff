import { dirname, join, resolve } from 'node:path';
import { resolveDataDir } from '../../config/index.ts';
import { diskSpaceText, errorText, isDiskFull } from '../../util/index.ts';
import { type Command, type CommandIO, numberOption, parseCommandArgs, UsageError } from '../../cli-kit/index.ts';
import { resolveConfig } from '../config-option.ts';

const HELP = `Usage: auraison-edge lerobot inspect DIR [--episodes N] [--decode] [--json]
       auraison-edge lerobot export OUT --feature KEY=TOPIC[:COLUMNS]... (--window START,END | --episode START,END[,TASK]... | --episodes-from TOPIC) [options]

inspect   Reads a LeRobot dataset (v2.0, v2.1 or v3.0): info (version, robot, fps), features (dtype, shape,
          names), episodes (count and lengths), frames (counted in the data files and checked against the
          metadata), tasks and dataset-wide statistics (v2.1: aggregated from episodes_stats.jsonl). Malformed
          metadata is an error naming the file, line and key; what disagrees is a warning: a shape against
          its names or the data's list lengths, ragged, NULL or NaN rows, missing episode files, statistics
          that are not numbers (left out).
          Video features (v2.1: a file per episode; v3.0: episodes packed in files, from/to timestamps in
          meta/episodes) are listed with their size, codec and files.
          --episodes N lists the first N episodes (default 10; --json lists all).
          --decode decodes every episode of every video feature with ffmpeg and counts the frames; an episode
          that does not decode (a missing or broken file, fewer frames than its length, a size other than
          info.json declares, ffmpeg past its time limit) is a warning.
          A file the dataset names or holds that is outside DIR once .. and symlinks are resolved, is not a
          regular file (a named pipe, a device, a directory), or has a name outside DIR (a hard link; links
          within DIR are taken) refuses the dataset. Each file is checked as it is opened and read as opened:
          a name swapped meanwhile is refused, or has no effect.

export    Writes recorded data from the local lakehouse as a LeRobot v3.0 dataset in OUT (a new directory):
          meta/info.json, meta/stats.json, meta/tasks.parquet, meta/episodes/chunk-000/file-000.parquet,
          data/chunk-000/file-000.parquet and, per camera, videos/KEY/chunk-000/file-000.mp4. A --feature with
          columns takes them from a topic's decoded projection in the lakehouse, the same relation \`query\`
          reads (named after the topic, with a log_time column): what the daemon recorded and indexed, or
          \`bag import\` brought in; several columns, or a list column, make a vector. A --feature without
          columns is a camera topic (sensor_msgs/msg/Image: rgb8, bgr8, rgba8, bgra8, mono8; or
          CompressedImage: jpeg, png), read from the bags the lakehouse indexes and encoded by ffmpeg
          (\`apt install ffmpeg\`) into a LeRobot video feature: yuv420p, a keyframe every 2 frames; an image
          larger than 8K (33,177,600 pixels, what inspect reads) is refused from its header, before it is
          decoded. Each episode window is resampled to --fps by sample-and-hold: frame k holds each
          feature's latest sample at or before START + k/fps (no interpolation). Frames before every feature
          has a sample are dropped; an episode ends at the last sample of the feature that ends first (the
          frames after it are cut, with a warning past one frame, rather than filled by holding it). Rows with a
          NULL column are skipped (the sample before is held), with a warning. The export holds the numbers
          in memory (never the images), so windows resampling to more than --max-frames are refused before
          anything is read, as is an OUT that cannot be made (in a file, or a path longer than Linux takes). OUT
          appears only when the whole dataset is written (a failed export leaves nothing).

Options (export):
  --feature KEY=TOPIC:COL[,COL]  e.g. observation.state=/joint_states:position, action=/cmd_vel:linear.x,angular.z
  --feature KEY=TOPIC        a camera, e.g. observation.images.front=/camera/image_raw (KEY is its video's
                             folder: one name of at most 255 bytes, no / or ..)
  --joints KEY=JOINT[,JOINT]  read feature KEY's list columns by joint name, through its topic's "name" list
                             (a sensor_msgs/msg/JointState's), in this order; info.json names them so. A message
                             without one of them is an error; one whose list is not one value per name is
                             skipped as a NULL row. e.g. observation.state=shoulder_pan,shoulder_lift,gripper
  --video-codec av1|h264     the cameras' codec: av1 (libsvtav1, crf 30, preset 12: LeRobot's) or h264
                             (libx264, crf 23); default av1
  --window START,END         one episode over this window
  --episode START,END[,TASK] an episode (repeatable); times are ISO 8601 or integer ns since the epoch
  --episodes-from TOPIC      the episodes a recorded std_msgs/msg/String topic marks: "begin N" as one starts,
                             "end N success" or "end N failure" as it ends; only successful ones are exported
                             (failed ones, and ones never ended or judged, are left out and counted)
  --min-episodes N           with --episodes-from: refuse fewer successful episodes than N (default 1)
  --task TEXT                the task of episodes that name none (default: "recorded")
  --fps N                    frames per second of the dataset (default: 30; a whole number with cameras)
  --robot-type TEXT          info.json robot_type
  --max-frames N             the most frames all windows may resample to (default: 1000000, 9.3 h at 30 fps)
  --db FILE                  the lakehouse catalog (default: <data_dir>/lakehouse/catalog.duckdb; its
                             parquet is read from tables/ beside it). A DuckDB file that is not a daemon's
                             catalog is read as it is: a relation per topic, with log_time in ns
  --config FILE              the daemon config, for its data dir
  --json                     print one JSON object

Exit codes: 0 ok, 1 the dataset or lakehouse can't be read or written, 2 bad usage.
`;

export const command: Command = {
  name: 'lerobot',
  summary: 'Inspect a LeRobot dataset, or export lakehouse data as one (v3.0)',
  help: HELP,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === 'inspect') return inspect(rest, io);
    if (sub === 'export') return exportDataset(rest, io);
    throw new UsageError(
      sub === undefined ? 'missing subcommand: inspect or export' : `unknown subcommand "${sub}" (inspect, export)`,
    );
  },
};

async function inspect(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    { json: { type: 'boolean' }, episodes: { type: 'string' }, decode: { type: 'boolean' } },
    { min: 1, max: 1, names: 'DIR' },
  );
  const listed = numberOption('episodes', values.episodes, { min: 0, integer: true }) ?? 10;
  const { readLeRobotDataset, formatDatasetSummary, VideoFrameReader } = await (
    await import('../../components/index.ts')
  ).loadLeRobot();
  try {
    const root = resolve(io.cwd, positionals[0]!);
    const summary = await readLeRobotDataset(root);
    if (values.decode && summary.videos.length > 0) {
      summary.decoded = await (await VideoFrameReader.open(root, { env: io.env })).decodeAll();
      for (const d of summary.decoded)
        for (const f of d.failed) summary.warnings.push(`${d.key} episode ${f.episode} does not decode: ${f.error}`);
    }
    io.stdout(values.json ? `${JSON.stringify(summary)}\n` : formatDatasetSummary(summary, listed));
    return 0;
  } catch (error) {
    io.stderr(`auraison-edge lerobot inspect: ${errorText(error)}\n`);
    return 1;
  }
}

function parseTime(text: string, what: string): bigint {
  if (/^\d+$/.test(text)) return BigInt(text);
  const ms = Date.parse(text);
  if (Number.isNaN(ms))
    throw new UsageError(`${what}: ${JSON.stringify(text)} is neither ISO 8601 nor integer ns since the epoch`);
  return BigInt(ms) * 1_000_000n;
}

async function exportDataset(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      feature: { type: 'string', multiple: true },
      joints: { type: 'string', multiple: true },
      window: { type: 'string' },
      episode: { type: 'string', multiple: true },
      'episodes-from': { type: 'string' },
      'min-episodes': { type: 'string' },
      task: { type: 'string' },
      fps: { type: 'string' },
      'robot-type': { type: 'string' },
      'max-frames': { type: 'string' },
      'video-codec': { type: 'string' },
      db: { type: 'string' },
      config: { type: 'string' },
      json: { type: 'boolean' },
    },
    { min: 1, max: 1, names: 'OUT' },
  );
  const { parseFeatureMapping, exportLakehouseToLeRobot, readMarkedEpisodes, marksText } = await (
    await import('../../components/index.ts')
  ).loadLeRobot();
  if (!values.feature?.length)
    throw new UsageError('give at least one --feature KEY=TOPIC:COLUMN (or KEY=TOPIC for a camera)');
  const videoCodec = values['video-codec'] ?? 'av1';
  if (videoCodec !== 'av1' && videoCodec !== 'h264')
    throw new UsageError(`--video-codec ${JSON.stringify(videoCodec)}: give av1 or h264`);
  const features = values.feature.map((text) => {
    try {
      return parseFeatureMapping(text);
    } catch (error) {
      throw new UsageError(`--feature ${text}: ${errorText(error)}`);
    }
  });
  const repeated = features.find((f, i) => features.findIndex((g) => g.key === f.key) !== i);
  if (repeated)
    throw new UsageError(
      `--feature ${repeated.key} is given twice; give each key one --feature (several columns go in one: KEY=TOPIC:COL1,COL2)`,
    );
  for (const text of values.joints ?? []) {
    const [key, names] = [text.slice(0, text.indexOf('=')), text.slice(text.indexOf('=') + 1)];
    const joints = names.split(',').filter(Boolean);
    const feature = features.find((f) => f.key === key);
    if (!text.includes('=') || joints.length === 0)
      throw new UsageError(
        `--joints ${text}: expected KEY=JOINT[,JOINT...], e.g. observation.state=shoulder_pan,gripper`,
      );
    if (!feature || feature.columns.length === 0)
      throw new UsageError(`--joints ${text}: ${key} is not a --feature with columns (KEY=TOPIC:position)`);
    if (feature.joints) throw new UsageError(`--joints ${key} is given twice`);
    feature.joints = joints;
  }
  const marks = values['episodes-from'];
  if ([values.window, values.episode?.length, marks].filter(Boolean).length > 1)
    throw new UsageError('give one of --window, --episode or --episodes-from');
  const minEpisodes = numberOption('min-episodes', values['min-episodes'], { min: 1, integer: true });
  if (minEpisodes !== undefined && !marks) throw new UsageError('--min-episodes goes with --episodes-from');
  const task = values.task ?? 'recorded';
  const windows = (values.window ? [values.window] : (values.episode ?? [])).map((text) => {
    const [start, end, ...rest] = text.split(',');
    if (!start || !end) throw new UsageError(`expected START,END[,TASK], got ${JSON.stringify(text)}`);
    const window = {
      startNs: parseTime(start, 'start'),
      endNs: parseTime(end, 'end'),
      task: rest.length ? rest.join(',') : task,
    };
    if (window.endNs <= window.startNs) throw new UsageError(`${JSON.stringify(text)}: END must be after START`);
    return window;
  });
  if (windows.length === 0 && !marks)
    throw new UsageError('give --window START,END, --episode START,END[,TASK] or --episodes-from TOPIC');
  const fps = numberOption('fps', values.fps, { min: 0, exclusiveMin: true }) ?? 30;
  const maxFrames = numberOption('max-frames', values['max-frames'], { min: 1, integer: true });
  let database = values.db ? resolve(io.cwd, values.db) : undefined;
  if (!database) {
    const { config } = resolveConfig(values.config, io.env);
    database = join(resolveDataDir(config, io.cwd), 'lakehouse', 'catalog.duckdb');
  }
  const out = resolve(io.cwd, positionals[0]!);
  try {
    if (marks) {
      const marked = await readMarkedEpisodes({ database, topic: marks, task, minEpisodes: minEpisodes ?? 1 });
      windows.push(...marked.windows);
      if (!values.json) io.stdout(`${marksText(marks, marked)}\n`);
    }
    const report = await exportLakehouseToLeRobot({
      database,
      out,
      fps,
      features,
      episodes: windows,
      robotType: values['robot-type'] ?? null,
      maxFrames,
      videoCodec,
      env: io.env,
    });
    for (const w of report.warnings) io.stderr(`auraison-edge lerobot export: warning: ${w}\n`);
    if (values.json) io.stdout(`${JSON.stringify(report)}\n`);
    else {
      io.stdout(
        `wrote ${report.out}: LeRobot v3.0, ${report.episodes} episodes, ${report.frames} frames at ${fps} fps\n`,
      );
      for (const f of report.features)
        io.stdout(
          f.video
            ? `  ${f.key.padEnd(24)} ${f.relation}  video ${f.video.width}x${f.video.height} ${f.video.codec}, ${f.samples} images\n`
            : `  ${f.key.padEnd(24)} ${f.relation}:${f.columns.join(',')}  ${f.dim} values, ${f.samples} samples\n`,
        );
      if (report.leadingFramesDropped > 0)
        io.stdout(`  ${report.leadingFramesDropped} leading frames dropped (not every feature had a sample yet)\n`);
      if (report.trailingFramesDropped > 0)
        io.stdout(
          `  ${report.trailingFramesDropped} trailing frames cut (a feature had no sample left; the warnings name ` +
            `each episode that lost more than one)\n`,
        );
    }
    return 0;
  } catch (error) {
    io.stderr(`auraison-edge lerobot export: ${errorText(error)}\n`);
    if (isDiskFull(error)) {
      // The dataset is written beside OUT and renamed into place at the end: a failed export leaves nothing there.
      io.stderr(
        `auraison-edge lerobot export: the disk under ${dirname(out)} is full${diskSpaceText(dirname(out))}: nothing was written (${out} was not made). Free space there, or give an OUT on a disk with room, and run the same export again\n`,
      );
    }
    return 1;
  }
}
